// Loupe geometry: where the image sits on the canvas. Plain math, unit tested.
export interface ViewBox {
  /** canvas px per image px */
  scale: number;
  /** image top-left on the canvas */
  x: number;
  y: number;
}

export interface Size {
  w: number;
  h: number;
}

export const MIN_SCALE = 0.02;
export const MAX_SCALE = 16;

export function fit(img: Size, canvas: Size): ViewBox {
  const scale = Math.min(canvas.w / img.w, canvas.h / img.h);
  return clampPan({ scale, x: (canvas.w - img.w * scale) / 2, y: (canvas.h - img.h * scale) / 2 }, img, canvas);
}

/** 100%: one image pixel per canvas pixel, keeping the image point under (px, py) in place. */
export function actualSize(v: ViewBox, img: Size, canvas: Size, px = canvas.w / 2, py = canvas.h / 2): ViewBox {
  return zoomAt(v, 1 / v.scale, px, py, img, canvas);
}

export function zoomAt(v: ViewBox, factor: number, px: number, py: number, img: Size, canvas: Size): ViewBox {
  const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, v.scale * factor));
  const k = scale / v.scale;
  return clampPan({ scale, x: px - (px - v.x) * k, y: py - (py - v.y) * k }, img, canvas);
}

export function pan(v: ViewBox, dx: number, dy: number, img: Size, canvas: Size): ViewBox {
  return clampPan({ ...v, x: v.x + dx, y: v.y + dy }, img, canvas);
}

/** An image smaller than the canvas is centred; a larger one may not leave a gap at an edge. */
export function clampPan(v: ViewBox, img: Size, canvas: Size): ViewBox {
  const w = img.w * v.scale;
  const h = img.h * v.scale;
  const x = w <= canvas.w ? (canvas.w - w) / 2 : Math.min(0, Math.max(canvas.w - w, v.x));
  const y = h <= canvas.h ? (canvas.h - h) / 2 : Math.min(0, Math.max(canvas.h - h, v.y));
  return { scale: v.scale, x, y };
}

/** Wheel delta to zoom factor (trackpads send small deltas, mice ~100 per notch). */
export const wheelFactor = (deltaY: number) => Math.exp(-Math.max(-300, Math.min(300, deltaY)) * 0.002);
