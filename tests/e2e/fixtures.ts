// Real image files for the end-to-end tests, encoded by scripts/lib/fixtures.mjs (no fixtures checked in).
import { png } from '../../scripts/lib/fixtures.mjs';

/** An RGB PNG with a smooth gradient (seeded so every file has different bytes) and tEXt chunks. */
export function makePng(width: number, height: number, seed: number, text: Record<string, string> = {}): Buffer {
  return png(width, height, seed, text, { smooth: true });
}

export const A1111 = `a lighthouse on a cliff at dusk, oil painting
Negative prompt: blurry, lowres
Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 1234567890, Size: 832x1216, Model: juggernautXL_v9`;

export const COMFY = JSON.stringify({
  '3': { class_type: 'KSampler', inputs: { seed: 42, steps: 20, cfg: 7, sampler_name: 'euler', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd_xl_base_1.0.safetensors' } },
  '5': { class_type: 'EmptyLatentImage', inputs: { width: 1024, height: 1024, batch_size: 1 } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a red fox in the snow', clip: ['4', 1] } },
  '7': { class_type: 'CLIPTextEncode', inputs: { text: 'cartoon', clip: ['4', 1] } },
});

/** A PNG cut off in the middle of its image data: the header is fine, decoding fails. */
export function corruptPng(): Buffer {
  const good = makePng(64, 64, 99);
  return good.subarray(0, Math.floor(good.length / 2));
}
