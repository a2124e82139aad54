import { describe, expect, it } from 'vitest';
import { readMetadata } from './metadata';

/** A JPEG holding only an EXIF APP1 segment, written by hand (little-endian TIFF). */
function jpegWithExif(): Uint8Array {
  type Entry = { tag: number; type: 2 | 3 | 4 | 5; value: string | number | [number, number] };
  const ifd0: Entry[] = [
    { tag: 0x010f, type: 2, value: 'FUJIFILM' },
    { tag: 0x0110, type: 2, value: 'X-T5' },
    { tag: 0x8769, type: 4, value: 0 }, // Exif IFD pointer, patched below
  ];
  const exif: Entry[] = [
    { tag: 0x829a, type: 5, value: [1, 250] },
    { tag: 0x829d, type: 5, value: [28, 10] },
    { tag: 0x8827, type: 3, value: 400 },
    { tag: 0x9003, type: 2, value: '2024:05:06 07:08:09' },
    { tag: 0x920a, type: 5, value: [35, 1] },
    { tag: 0xa434, type: 2, value: 'XF35mmF1.4 R' },
  ];
  const buf = new Uint8Array(1024);
  const v = new DataView(buf.buffer);
  buf.set([0x49, 0x49, 0x2a, 0x00]);
  v.setUint32(4, 8, true);
  let heap = 512; // out-of-line values
  const writeIfd = (at: number, entries: Entry[]) => {
    v.setUint16(at, entries.length, true);
    entries.forEach((e, i) => {
      const p = at + 2 + i * 12;
      v.setUint16(p, e.tag, true);
      v.setUint16(p + 2, e.type, true);
      if (e.type === 2) {
        const s = `${e.value as string}\0`;
        v.setUint32(p + 4, s.length, true);
        const dst = s.length <= 4 ? p + 8 : heap;
        if (s.length > 4) v.setUint32(p + 8, heap, true), (heap += s.length + (s.length % 2));
        for (let k = 0; k < s.length; k++) buf[dst + k] = s.charCodeAt(k);
      } else if (e.type === 5) {
        const [n, d] = e.value as [number, number];
        v.setUint32(p + 4, 1, true);
        v.setUint32(p + 8, heap, true);
        v.setUint32(heap, n, true);
        v.setUint32(heap + 4, d, true);
        heap += 8;
      } else {
        v.setUint32(p + 4, 1, true);
        if (e.type === 3) v.setUint16(p + 8, e.value as number, true);
        else v.setUint32(p + 8, e.value as number, true);
      }
    });
    v.setUint32(at + 2 + entries.length * 12, 0, true);
    return at + 2 + entries.length * 12 + 4;
  };
  const exifAt = writeIfd(8, ifd0);
  v.setUint32(8 + 2 + 2 * 12 + 8, exifAt, true); // patch the pointer entry's value
  writeIfd(exifAt, exif);
  const tiff = buf.subarray(0, heap);
  const app1Len = 2 + 6 + tiff.length;
  return new Uint8Array([0xff, 0xd8, 0xff, 0xe1, app1Len >> 8, app1Len & 0xff, 0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff, 0xff, 0xd9]);
}

describe('EXIF', () => {
  it('reads the capture date, camera and exposure from a JPEG', async () => {
    const meta = await readMetadata(jpegWithExif(), 'image/jpeg');
    expect(meta.camera).toBe('FUJIFILM X-T5');
    expect(new Date(meta.takenAt!).getFullYear()).toBe(2024);
    expect(meta.exif).toMatchObject({ iso: 400, fNumber: 2.8, exposure: 0.004, focalLength: 35, lens: 'XF35mmF1.4 R' });
  });

  it('treats a file without EXIF as fine', async () => {
    expect(await readMetadata(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), 'image/jpeg')).toEqual({});
  });
});
