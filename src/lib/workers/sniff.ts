// Content sniffing: the file name and the browser's MIME guess are often wrong or empty.
export function sniffMime(b: Uint8Array): string | undefined {
  const at = (i: number, ...bytes: number[]) => bytes.every((x, k) => b[i + k] === x);
  const ascii = (i: number, s: string) => [...s].every((c, k) => b[i + k] === c.charCodeAt(0));
  if (at(0, 0x89, 0x50, 0x4e, 0x47)) return 'image/png';
  if (at(0, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (ascii(0, 'GIF8')) return 'image/gif';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'image/webp';
  if (ascii(4, 'ftyp')) {
    const brand = String.fromCharCode(...b.subarray(8, 12));
    if (brand === 'avif' || brand === 'avis') return 'image/avif';
    if (/^hei|^mif1|^heix/.test(brand)) return 'image/heic';
  }
  if (ascii(0, 'BM')) return 'image/bmp';
  return undefined;
}

const EXT = /\.(png|jpe?g|gif|webp|avif|bmp|heic|heif|tiff?)$/i;

/** Cheap pre-filter before reading bytes: skip sidecars, videos and the like early. */
export function looksLikeImage(name: string, type: string): boolean {
  return type.startsWith('image/') || EXT.test(name);
}
