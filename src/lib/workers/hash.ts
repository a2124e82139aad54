import { sha256 } from 'hash-wasm';

const toHex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * SHA-256 of the bytes as hex. `crypto.subtle` exists only in secure contexts (https,
 * localhost); a home-lab user on http://192.168.x.y has none, so fall back to WASM. `null`
 * means "no subtle" (an explicit `undefined` would pick up the default).
 */
export async function hashBytes(bytes: Uint8Array, subtle: SubtleCrypto | null | undefined = globalThis.crypto?.subtle): Promise<string> {
  if (subtle) {
    try {
      return toHex(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
    } catch {
      // some browsers expose subtle but refuse it in insecure contexts: use the fallback
    }
  }
  return sha256(bytes);
}
