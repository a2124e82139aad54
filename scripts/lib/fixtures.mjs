// Tiny image fixtures for the screenshot and benchmark scripts (no image library needed).
import { deflateSync, crc32 } from 'node:zlib';

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return out;
}

/** An RGB PNG file from filtered scanlines (a 0 filter byte, then RGB), with tEXt chunks. */
function rgbPng(width, height, raw, text) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const texts = Object.entries(text).map(([k, v]) => chunk('tEXt', Buffer.concat([Buffer.from(k, 'latin1'), Buffer.from([0]), Buffer.from(v, 'utf8')])));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), ...texts, chunk('IDAT', deflateSync(raw, { level: 1 })), chunk('IEND', Buffer.alloc(0))]);
}

/**
 * RGB PNG with a colour gradient and optional tEXt chunks ({ parameters: '...' }). `smooth` drops
 * the texture: the file then compresses to a few KB even at 1600x1200 (bulk e2e imports).
 */
export function png(width, height, seed = 0, text = {}, { smooth = false } = {}) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  const hue = (seed * 47) % 360;
  const [r0, g0, b0] = hsl(hue, 0.55, 0.45);
  const [r1, g1, b1] = hsl((hue + 70) % 360, 0.6, 0.25);
  // The gradient turns with the seed, so different seeds differ in structure too, not only in
  // colour: a perceptual hash (grey levels) must not see two fixtures as one picture re-encoded.
  const angle = seed * 2.39996;
  const [cx, cy] = [Math.cos(angle), Math.sin(angle)];
  const span = Math.abs(cx) + Math.abs(cy);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const t = 0.5 + ((x / width - 0.5) * cx + (y / height - 0.5) * cy) / span;
      const wave = smooth ? 0 : Math.sin((x + seed * 13) / 9) * Math.cos((y - seed * 7) / 11) * 18;
      raw[row + 1 + x * 3] = clamp(r0 + (r1 - r0) * t + wave);
      raw[row + 2 + x * 3] = clamp(g0 + (g1 - g0) * t + wave);
      raw[row + 3 + x * 3] = clamp(b0 + (b1 - b0) * t - wave);
    }
  }
  return rgbPng(width, height, raw, text);
}

const clamp = (v) => Math.max(0, Math.min(255, Math.round(v)));
function hsl(h, s, l) {
  const k = (n) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [f(0) * 255, f(8) * 255, f(4) * 255];
}

export const A1111_PARAMS = `a lighthouse on a cliff at dusk, dramatic clouds, oil painting
Negative prompt: blurry, lowres, watermark
Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 1234567890, Size: 832x1216, Model: juggernautXL_v9`;

export const COMFY_PROMPT = JSON.stringify({
  3: { class_type: 'KSampler', inputs: { seed: 42, steps: 20, cfg: 7, sampler_name: 'euler', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
  4: { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd_xl_base_1.0.safetensors' } },
  5: { class_type: 'EmptyLatentImage', inputs: { width: 1024, height: 1024, batch_size: 1 } },
  6: { class_type: 'CLIPTextEncode', inputs: { text: 'a red fox in the snow, golden hour, 85mm', clip: ['4', 1] } },
  7: { class_type: 'CLIPTextEncode', inputs: { text: 'cartoon, text', clip: ['4', 1] } },
});

/**
 * A "scene": a gradient with a few seeded rectangles and discs, so that pictures of different seeds
 * differ in layout (a perceptual hash tells them apart), not only in colour. RGB PNG, tEXt optional.
 */
export function scenePng(width, height, seed = 0, text = {}) {
  let a = (seed * 2654435761) >>> 0;
  const rnd = () => ((a = (a * 1664525 + 1013904223) >>> 0) / 4294967296);
  const shapes = Array.from({ length: 6 }, () => ({
    disc: rnd() < 0.5, x: rnd() * width, y: rnd() * height, r: (0.08 + rnd() * 0.25) * Math.min(width, height),
    w: (0.1 + rnd() * 0.4) * width, h: (0.1 + rnd() * 0.4) * height, c: hsl(rnd() * 360, 0.6, 0.2 + rnd() * 0.6),
  }));
  const [r0, g0, b0] = hsl(rnd() * 360, 0.5, 0.5);
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      let c = [r0 * (0.6 + (0.4 * y) / height), g0, b0 * (1 - (0.4 * x) / width)];
      for (const s of shapes) {
        const inside = s.disc ? (x - s.x) ** 2 + (y - s.y) ** 2 < s.r ** 2 : x >= s.x && x < s.x + s.w && y >= s.y && y < s.y + s.h;
        if (inside) c = s.c;
      }
      raw[row + 1 + x * 3] = clamp(c[0]);
      raw[row + 2 + x * 3] = clamp(c[1]);
      raw[row + 3 + x * 3] = clamp(c[2]);
    }
  }
  return rgbPng(width, height, raw, text);
}
