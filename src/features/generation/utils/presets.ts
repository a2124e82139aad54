// Style presets (Remix adds one to the prompt) and the user's saved parameter presets.
import { browserStorage } from '@/lib/browser-storage';

export interface StylePreset {
  id: string;
  label: string;
  prompt: string;
  negative: string;
}

export const STYLES: StylePreset[] = [
  { id: 'none', label: 'No style', prompt: '', negative: '' },
  { id: 'photo', label: 'Photographic', prompt: 'photograph, 35mm, natural light, sharp focus, detailed', negative: 'illustration, painting, cartoon, blurry' },
  { id: 'cinematic', label: 'Cinematic', prompt: 'cinematic still, dramatic lighting, shallow depth of field, film grain', negative: 'flat lighting, cartoon' },
  { id: 'anime', label: 'Anime', prompt: 'anime illustration, clean line art, vibrant colors', negative: 'photo, realistic, 3d render' },
  { id: 'watercolor', label: 'Watercolour', prompt: 'watercolor painting, soft washes, paper texture', negative: 'photo, hard edges' },
  { id: 'oil', label: 'Oil painting', prompt: 'oil painting, visible brush strokes, rich texture', negative: 'photo, flat' },
  { id: 'surreal', label: 'Surreal', prompt: 'surreal dreamlike scene, impossible geometry, vivid', negative: 'mundane, plain' },
  { id: 'lineart', label: 'Line art', prompt: 'black and white line art, ink drawing, clean lines', negative: 'color, photo, shading' },
];

export function applyStyle(prompt: string, negative: string, style: StylePreset): { prompt: string; negative: string } {
  if (!style.prompt) return { prompt, negative };
  return {
    prompt: [prompt.trim(), style.prompt].filter(Boolean).join(', '),
    negative: [negative.trim(), style.negative].filter(Boolean).join(', '),
  };
}

export interface SavedPreset {
  name: string;
  negative: string;
  steps?: number | undefined;
  guidance?: number | undefined;
  strength: number;
  aspect: string;
  size: string;
  style: string;
  model: string;
}

const KEY = 'atelier.generation.presets.v1';

export function loadPresets(): SavedPreset[] {
  try {
    const raw = browserStorage()?.getItem(KEY) ?? null;
    const list = raw ? (JSON.parse(raw) as unknown) : [];
    return Array.isArray(list) ? (list.filter((p) => typeof p === 'object' && p && typeof (p as SavedPreset).name === 'string') as SavedPreset[]) : [];
  } catch {
    return [];
  }
}

export function savePresets(list: SavedPreset[]): void {
  try {
    browserStorage()?.setItem(KEY, JSON.stringify(list));
  } catch {
    // storage full or blocked: presets last for this session only
  }
}

const STYLE_KEY = 'atelier.generation.style.v1';

/**
 * The style Remix opens with: none, unless the user picked one before. A style changes the prompt
 * the user wrote, so it is never chosen for them.
 */
export function rememberedStyle(): string {
  const id = browserStorage()?.getItem(STYLE_KEY);
  return id && STYLES.some((s) => s.id === id) ? id : 'none';
}

/** Called when the user picks a style (never for a default). */
export function rememberStyle(id: string): void {
  try {
    browserStorage()?.setItem(STYLE_KEY, id);
  } catch {
    // storage full: the choice lasts for this modal only
  }
}
