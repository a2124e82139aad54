// Pixel size from an image file's header, without decoding it: PNG (IHDR), JPEG (the SOF
// segment, after any EXIF/ICC segments), WebP (VP8, VP8L, VP8X). Undefined when unknown.
export interface PixelSize {
  width: number;
  height: number;
}

const u16be = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const u16le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u24le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
const u32be = (b: Uint8Array, i: number) => ((b[i]! << 24) >>> 0) + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
const ascii = (b: Uint8Array, i: number, s: string) => [...s].every((c, k) => b[i + k] === c.charCodeAt(0));
const valid = (width: number, height: number): PixelSize | undefined => (width > 0 && height > 0 ? { width, height } : undefined);

export function imageSize(b: Uint8Array): PixelSize | undefined {
  if (b.length >= 24 && b[0] === 0x89 && ascii(b, 1, 'PNG') && ascii(b, 12, 'IHDR')) return valid(u32be(b, 16), u32be(b, 20));
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return jpegSize(b);
  if (b.length >= 30 && ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) {
    if (ascii(b, 12, 'VP8X')) return valid(1 + u24le(b, 24), 1 + u24le(b, 27));
    if (ascii(b, 12, 'VP8L') && b[20] === 0x2f) {
      return valid(1 + (((b[22]! & 0x3f) << 8) | b[21]!), 1 + (((b[24]! & 0x0f) << 10) | (b[23]! << 2) | ((b[22]! & 0xc0) >> 6)));
    }
    if (ascii(b, 12, 'VP8 ') && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) return valid(u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff);
  }
  return undefined;
}

function jpegSize(b: Uint8Array): PixelSize | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // no length
      continue;
    }
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC): precision, height, width
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return valid(u16be(b, i + 7), u16be(b, i + 5));
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end, or scan data before any frame
    i += 2 + u16be(b, i + 2);
  }
  return undefined;
}
