import { describe, expect, it } from 'vitest';
import { emit, isImporting, on } from './events';

describe('library events', () => {
  it("keeps whether an import runs, for a listener that subscribes after it started", () => {
    expect(isImporting()).toBe(false);
    emit('importing', true);
    // a feature that loads now (after the first paint) never heard the 'true'
    const heard: boolean[] = [];
    const off = on('importing', (now) => heard.push(now));
    expect(isImporting()).toBe(true);
    emit('importing', false);
    expect(isImporting()).toBe(false);
    expect(heard).toEqual([false]);
    off();
  });
});
