import { describe, expect, it } from 'vitest';
import { api } from './client';

describe('the axios instance', () => {
  it('never reads cookies for an XSRF header (the backend takes a Bearer key)', () => {
    // axios reads document.cookie before every same-origin call unless this is false: a
    // synchronous trip to the browser's cookie store on each of the indexing lane's calls
    expect(api.defaults.withXSRFToken).toBe(false);
  });
});
