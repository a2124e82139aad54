import { describe, expect, it } from 'vitest';
import { fit } from './zoom';
import { doubleTapZoom, isZoomedIn, pinchUpdate, swipeStep } from './gestures';

const img = { w: 4000, h: 3000 };
const canvas = { w: 390, h: 700 };

describe('loupe touch gestures', () => {
  it('a horizontal swipe goes to the next image (leftwards) or the previous one (rightwards)', () => {
    expect(swipeStep(-120, 10, 300)).toBe(1);
    expect(swipeStep(120, -8, 300)).toBe(-1);
  });
  it('a short fast flick counts; a slow short drag, a vertical drag and a tap do not', () => {
    expect(swipeStep(-35, 0, 60)).toBe(1);
    expect(swipeStep(-35, 0, 600)).toBe(0);
    expect(swipeStep(-80, 140, 300)).toBe(0);
    expect(swipeStep(2, 1, 90)).toBe(0);
  });
  it('pinching apart zooms by the ratio of finger distances around their midpoint', () => {
    const v = fit(img, canvas);
    const z = pinchUpdate(v, [{ x: 145, y: 350 }, { x: 245, y: 350 }], [{ x: 95, y: 350 }, { x: 295, y: 350 }], img, canvas);
    expect(z.scale).toBeCloseTo(v.scale * 2);
    // the image point under the midpoint stays under it
    expect((195 - z.x) / z.scale).toBeCloseTo((195 - v.x) / v.scale);
    expect((350 - z.y) / z.scale).toBeCloseTo((350 - v.y) / v.scale);
  });
  it('moving both fingers together pans a zoomed image', () => {
    const v = pinchUpdate(fit(img, canvas), [{ x: 145, y: 350 }, { x: 245, y: 350 }], [{ x: 45, y: 350 }, { x: 345, y: 350 }], img, canvas);
    const moved = pinchUpdate(v, [{ x: 45, y: 350 }, { x: 345, y: 350 }], [{ x: 25, y: 330 }, { x: 325, y: 330 }], img, canvas);
    expect(moved.scale).toBeCloseTo(v.scale);
    expect(moved.x).toBeCloseTo(v.x - 20);
    expect(moved.y).toBeCloseTo(v.y - 20);
  });
  it('knows when the image is zoomed past fit (then one finger pans instead of swiping)', () => {
    const v = fit(img, canvas);
    expect(isZoomedIn(v, img, canvas)).toBe(false);
    expect(isZoomedIn({ ...v, scale: v.scale * 1.5 }, img, canvas)).toBe(true);
  });
  it('a double tap zooms in at the tap, and a second one goes back to fit', () => {
    const v = fit(img, canvas);
    const z = doubleTapZoom(v, 100, 300, img, canvas);
    expect(z.scale).toBeGreaterThan(v.scale * 2);
    expect(doubleTapZoom(z, 100, 300, img, canvas)).toEqual(v);
  });
});
