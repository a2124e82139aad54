// Loupe touch gestures: swipe to the next or previous image, pinch to zoom, double tap.
// Plain math over pointer positions (the component only tracks pointers), unit tested.
import { clampPan, fit, zoomAt, type Size, type ViewBox } from './zoom';

export interface Pt {
  x: number;
  y: number;
}

/** A drag this long (px) is a swipe however slow it is. */
export const SWIPE_PX = 50;
/** A shorter flick counts when it is this fast (px per ms) and at least FLICK_PX long. */
export const FLICK_SPEED = 0.4;
export const FLICK_PX = 25;

/**
 * +1: the next image (finger moved left), -1: the previous one, 0: not a swipe. The move must be
 * mostly horizontal, so a vertical drag or a tap never changes the image.
 */
export function swipeStep(dx: number, dy: number, ms: number): -1 | 0 | 1 {
  const ax = Math.abs(dx);
  if (ax < 1.5 * Math.abs(dy)) return 0;
  const fast = ax >= FLICK_PX && ax / Math.max(1, ms) >= FLICK_SPEED;
  if (ax < SWIPE_PX && !fast) return 0;
  return dx < 0 ? 1 : -1;
}

const mid = (a: Pt, b: Pt): Pt => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
const dist = (a: Pt, b: Pt) => Math.hypot(a.x - b.x, a.y - b.y);

/**
 * Two fingers moved from `prev` to `next`: zoom by the ratio of their distances around the
 * midpoint, and pan by how far the midpoint moved, so the image follows the fingers.
 */
export function pinchUpdate(v: ViewBox, prev: [Pt, Pt], next: [Pt, Pt], img: Size, canvas: Size): ViewBox {
  const d0 = dist(prev[0], prev[1]);
  const factor = d0 > 0 ? dist(next[0], next[1]) / d0 : 1;
  const m0 = mid(prev[0], prev[1]);
  const m1 = mid(next[0], next[1]);
  const zoomed = zoomAt(v, factor, m0.x, m0.y, img, canvas);
  return clampPan({ ...zoomed, x: zoomed.x + m1.x - m0.x, y: zoomed.y + m1.y - m0.y }, img, canvas);
}

/** Larger than fit: one finger then pans the image instead of swiping to another one. */
export function isZoomedIn(v: ViewBox, img: Size, canvas: Size): boolean {
  return v.scale > fit(img, canvas).scale * 1.01;
}

/** Double tap: from fit, zoom in at the tap (to 100%, or 2.5x fit for small images); zoomed in, back to fit. */
export function doubleTapZoom(v: ViewBox, px: number, py: number, img: Size, canvas: Size): ViewBox {
  const f = fit(img, canvas);
  if (isZoomedIn(v, img, canvas)) return f;
  const target = Math.max(1, f.scale * 2.5);
  return zoomAt(v, target / v.scale, px, py, img, canvas);
}
