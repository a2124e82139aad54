import { describe, expect, it } from 'vitest';
import { actualSize, fit, pan, wheelFactor, zoomAt } from './zoom';

const img = { w: 4000, h: 3000 };
const canvas = { w: 1000, h: 500 };

describe('loupe zoom', () => {
  it('fits and centres', () => {
    expect(fit(img, canvas)).toEqual({ scale: 1 / 6, x: (1000 - 4000 / 6) / 2, y: 0 });
  });
  it('zooms around the cursor, keeping the image point under it', () => {
    const v = fit(img, canvas);
    const z = zoomAt(v, 4, 500, 250, img, canvas);
    const before = { x: (500 - v.x) / v.scale, y: (250 - v.y) / v.scale };
    const after = { x: (500 - z.x) / z.scale, y: (250 - z.y) / z.scale };
    expect(after.x).toBeCloseTo(before.x);
    expect(after.y).toBeCloseTo(before.y);
  });
  it('goes to 100% and clamps panning to the image edges', () => {
    const one = actualSize(fit(img, canvas), img, canvas);
    expect(one.scale).toBe(1);
    const far = pan(one, 99999, 99999, img, canvas);
    expect([far.x, far.y]).toEqual([0, 0]);
    const other = pan(one, -99999, -99999, img, canvas);
    expect([other.x, other.y]).toEqual([1000 - 4000, 500 - 3000]);
  });
  it('maps wheel deltas to gentle zoom steps', () => {
    expect(wheelFactor(-100)).toBeGreaterThan(1);
    expect(wheelFactor(100)).toBeLessThan(1);
    expect(wheelFactor(100) * wheelFactor(-100)).toBeCloseTo(1);
  });
});
