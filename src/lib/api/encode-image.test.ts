import { describe, expect, it } from 'vitest';
import { toBase64 } from './encode-image';

describe('toBase64', () => {
  it('encodes bytes as standard base64, across chunk boundaries', () => {
    const bytes = new Uint8Array(0x8000 * 2 + 7).map((_, i) => (i * 131 + 7) & 0xff);
    expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    expect(toBase64(new Uint8Array())).toBe('');
  });

  it("uses the engine's own encoder when there is one", () => {
    const bytes = Object.assign(new Uint8Array([1, 2, 3]), { toBase64: () => 'native' });
    expect(toBase64(bytes)).toBe('native');
  });
});
