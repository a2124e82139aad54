/// <reference types="node" />
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { encodeForAnalysis } from './encode-image';
import { imageSize } from './image-size';

// Real files written by Pillow (JPEG with an EXIF segment first, progressive JPEG, the three
// WebP flavours, PNG): the header parser must agree with the encoder about every one.
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../test/fixtures/sizes/${name}`, import.meta.url)));

describe('imageSize', () => {
  it.each([
    ['plain-37x21.png', 37, 21],
    ['exif-37x21.jpg', 37, 21],
    ['progressive-37x21.jpg', 37, 21],
    ['wide-1500x9.jpg', 1500, 9],
    ['lossy-37x21.webp', 37, 21],
    ['lossless-37x21.webp', 37, 21],
    ['alpha-37x21.webp', 37, 21],
  ])('reads %s as %ix%i without decoding', (name, width, height) => {
    expect(imageSize(fixture(name))).toEqual({ width, height });
  });

  it('gives up on what it cannot read instead of guessing', () => {
    const jpg = fixture('exif-37x21.jpg');
    expect(imageSize(jpg.subarray(0, 40))).toBeUndefined(); // cut before the frame header
    expect(imageSize(new TextEncoder().encode('<svg width="10" height="10"/>'))).toBeUndefined();
    expect(imageSize(new Uint8Array())).toBeUndefined();
  });
});

describe('encodeForAnalysis', () => {
  it('sends a small image as it is, without decoding it', async () => {
    const bytes = fixture('exif-37x21.jpg');
    const decode = vi.fn(() => Promise.reject(new Error('decoded')));
    vi.stubGlobal('createImageBitmap', decode);
    vi.stubGlobal('OffscreenCanvas', class {});
    try {
      const url = await encodeForAnalysis(new Blob([bytes], { type: 'image/jpeg' }));
      expect(url).toBe(`data:image/jpeg;base64,${Buffer.from(bytes).toString('base64')}`);
      expect(decode).not.toHaveBeenCalled();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('decodes and downscales an image larger than the limit', async () => {
    const bytes = fixture('wide-1500x9.jpg');
    const drawn: number[][] = [];
    vi.stubGlobal('createImageBitmap', vi.fn(async () => ({ width: 1500, height: 9, close() {} })));
    vi.stubGlobal(
      'OffscreenCanvas',
      class {
        constructor(readonly w: number, readonly h: number) {}
        getContext() {
          return { drawImage: (_b: unknown, _x: number, _y: number, w: number, h: number) => drawn.push([w, h]) };
        }
        async convertToBlob() {
          return new Blob(['small'], { type: 'image/jpeg' });
        }
      },
    );
    try {
      const url = await encodeForAnalysis(new Blob([bytes], { type: 'image/jpeg' }));
      expect(drawn).toEqual([[1024, 6]]);
      expect(url).toBe(`data:image/jpeg;base64,${Buffer.from('small').toString('base64')}`);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
