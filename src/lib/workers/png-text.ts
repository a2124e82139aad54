import { unzlibSync } from 'fflate';

// PNG text chunks (tEXt, zTXt, iTXt): where A1111, ComfyUI and Atelier keep generation
// parameters. Pure functions over bytes, so they run in the worker and in unit tests alike.

export const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

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
