// Writing PNGs with text chunks, for the tests of the reader (lib/workers/png-text.ts) and the
// parameter parsers (lib/workers/gen-params.ts). The app only reads them: the backend writes the
// chunks of the images it generates.
import { zlibSync } from 'fflate';
import type { GenerationParams } from '@/lib/db/schema';
import { SIGNATURE, isPng } from '@/lib/workers/png-text';


const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export function makeChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function textChunk(kind: 'tEXt' | 'iTXt' | 'zTXt', key: string, value: string): Uint8Array {
  const enc = new TextEncoder();
  const k = enc.encode(key);
  let body: Uint8Array;
  if (kind === 'tEXt') body = concat([k, new Uint8Array([0]), enc.encode(value)]);
  else if (kind === 'zTXt') body = concat([k, new Uint8Array([0, 0]), zlibSync(enc.encode(value))]);
  else body = concat([k, new Uint8Array([0, 0, 0, 0, 0]), enc.encode(value)]);
  return makeChunk(kind, body);
}

/** Inserts text chunks right after IHDR. */
export function addPngText(png: Uint8Array, chunks: Uint8Array[]): Uint8Array {
  if (!isPng(png)) throw new Error('not a PNG file');
  const ihdrLen = new DataView(png.buffer, png.byteOffset).getUint32(8);
  const cut = 8 + 12 + ihdrLen;
  return concat([png.subarray(0, cut), ...chunks, png.subarray(cut)]);
}

/** A minimal valid RGBA PNG (tests and fixtures). */
export function encodePng(width: number, height: number, rgba: (x: number, y: number) => [number, number, number, number]): Uint8Array {
  const raw = new Uint8Array((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0;
    for (let x = 0; x < width; x++) raw.set(rgba(x, y), y * (width * 4 + 1) + 1 + x * 4);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return concat([new Uint8Array(SIGNATURE), makeChunk('IHDR', ihdr), makeChunk('IDAT', zlibSync(raw)), makeChunk('IEND', new Uint8Array())]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The inverse of parseA1111 (what the backend writes into its PNGs). */
export function formatA1111(p: Omit<GenerationParams, 'source' | 'raw'>): string {
  const quote = (v: string) => (/[,:"\n]/.test(v) ? JSON.stringify(v) : v);
  const settings: string[] = [];
  if (p.steps !== undefined) settings.push(`Steps: ${p.steps}`);
  if (p.sampler) settings.push(`Sampler: ${quote(p.sampler)}`);
  if (p.guidance !== undefined) settings.push(`CFG scale: ${p.guidance}`);
  if (p.seed !== undefined) settings.push(`Seed: ${p.seed}`);
  if (p.width && p.height) settings.push(`Size: ${p.width}x${p.height}`);
  if (p.model) settings.push(`Model: ${quote(p.model)}`);
  if (p.strength !== undefined) settings.push(`Denoising strength: ${p.strength}`);
  settings.push('Generator: Atelier');
  const lines = [p.prompt];
  if (p.negativePrompt) lines.push(`Negative prompt: ${p.negativePrompt}`);
  lines.push(settings.join(', '));
  return lines.join('\n');
}
