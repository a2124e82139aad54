import { unzlibSync, zlibSync } from 'fflate';

// PNG text chunks (tEXt, zTXt, iTXt): where A1111, ComfyUI and Atelier keep generation
// parameters. Pure functions over bytes, so they run in the worker and in unit tests alike.

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return SIGNATURE.every((b, i) => bytes[i] === b);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function decodeText(b: Uint8Array): string {
  // the spec says latin1 for tEXt, but most generators write UTF-8 there
  try {
    return utf8.decode(b);
  } catch {
    return latin1.decode(b);
  }
}

export interface PngInfo {
  width: number;
  height: number;
  text: Record<string, string>;
}

/** Reads IHDR dimensions and every text chunk. Throws on a truncated or non-PNG buffer. */
export function readPngInfo(bytes: Uint8Array): PngInfo {
  if (!isPng(bytes)) throw new Error('not a PNG file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text: Record<string, string> = {};
  let width = 0;
  let height = 0;
  let pos = 8;
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
    const start = pos + 8;
    const end = start + len;
    if (end > bytes.length) throw new Error(`truncated PNG: ${type} chunk runs past the end of the file`);
    const data = bytes.subarray(start, end);
    if (type === 'IHDR') {
      width = view.getUint32(start);
      height = view.getUint32(start + 4);
    } else if (type === 'tEXt' || type === 'zTXt' || type === 'iTXt') {
      const entry = parseTextChunk(type, data);
      if (entry) text[entry[0]] = entry[1];
    } else if (type === 'IEND') {
      break;
    }
    pos = end + 4; // skip CRC
  }
  if (!width || !height) throw new Error('PNG has no IHDR chunk');
  return { width, height, text };
}

function parseTextChunk(type: string, data: Uint8Array): [string, string] | null {
  const nul = data.indexOf(0);
  if (nul <= 0) return null;
  const key = latin1.decode(data.subarray(0, nul));
  try {
    if (type === 'tEXt') return [key, decodeText(data.subarray(nul + 1))];
    if (type === 'zTXt') return [key, decodeText(unzlibSync(data.subarray(nul + 2)))];
    // iTXt: keyword\0 flag method language\0 translated\0 text
    const compressed = data[nul + 1] === 1;
    const langEnd = data.indexOf(0, nul + 3);
    const transEnd = data.indexOf(0, langEnd + 1);
    if (langEnd < 0 || transEnd < 0) return null;
    const body = data.subarray(transEnd + 1);
    return [key, utf8Loose(compressed ? unzlibSync(body) : body)];
  } catch {
    return null; // one bad chunk must not cost us the image
  }
}

function utf8Loose(b: Uint8Array): string {
  return new TextDecoder('utf-8').decode(b);
}

// --- writing (tests, and tagging generated images) ---

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
