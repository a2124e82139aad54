// Aspect-ratio and size presets. Sizes are relative to the model's native area (1024x1024 for
// SDXL, 64x64 for the tiny test model), so every preset stays in the range the model was trained on.

export const ASPECTS = [
  { id: '1:1', w: 1, h: 1 },
  { id: '4:3', w: 4, h: 3 },
  { id: '3:4', w: 3, h: 4 },
  { id: '3:2', w: 3, h: 2 },
  { id: '2:3', w: 2, h: 3 },
  { id: '16:9', w: 16, h: 9 },
  { id: '9:16', w: 9, h: 16 },
] as const;
export type AspectId = (typeof ASPECTS)[number]['id'];

export const SIZES = [
  { id: 'auto', short: 'Default', label: "The model's default size", scale: 1 },
  { id: 'S', short: 'S', label: 'Small: 0.75× the native side', scale: 0.75 },
  { id: 'M', short: 'M', label: 'Native size', scale: 1 },
  { id: 'L', short: 'L', label: 'Large: 1.25× the native side', scale: 1.25 },
] as const;
export type SizeId = (typeof SIZES)[number]['id'];

/** The smallest side the backend accepts (400 below it). */
const MIN_SIDE = 64;

/** The backend wants multiples of 8, at least 64; SDXL prefers 64 at its native sizes. */
function snap(v: number, base: number): number {
  const unit = base >= 512 ? 64 : 8;
  return Math.max(MIN_SIDE, Math.round(v / unit) * unit);
}

/** Width and height for an aspect and size, keeping the model's native pixel area. */
export function dimensionsFor(aspect: AspectId, size: SizeId, native: { width: number; height: number }): { width: number; height: number } {
  const a = ASPECTS.find((x) => x.id === aspect) ?? ASPECTS[0];
  const s = SIZES.find((x) => x.id === size) ?? SIZES[2];
  const side = Math.sqrt(native.width * native.height) * s.scale;
  const ratio = a.w / a.h;
  const base = Math.sqrt(native.width * native.height);
  return { width: snap(side * Math.sqrt(ratio), base), height: snap(side / Math.sqrt(ratio), base) };
}

/** Fit a source image's shape into the model's area (img2img keeps the source's aspect, never a fixed square). */
export function dimensionsLike(source: { width: number; height: number }, native: { width: number; height: number }): { width: number; height: number } {
  const area = native.width * native.height;
  const ratio = source.width / Math.max(1, source.height);
  const base = Math.sqrt(area);
  return { width: snap(Math.sqrt(area * ratio), base), height: snap(Math.sqrt(area / ratio), base) };
}

/** The closest aspect preset to a width/height. */
export function nearestAspect(width: number, height: number): AspectId {
  const r = width / Math.max(1, height);
  let best: AspectId = '1:1';
  let bestErr = Infinity;
  for (const a of ASPECTS) {
    const err = Math.abs(Math.log(r / (a.w / a.h)));
    if (err < bestErr) {
      best = a.id;
      bestErr = err;
    }
  }
  return best;
}
