// A Vite plugin: `import bytes from './x.wat'` gives the module's binary as a Uint8Array,
// assembled from the WebAssembly text by the `wabt` npm package at build (and test) time, so the
// repository holds only the text and any machine with npm can rebuild it.
import { readFile } from 'node:fs/promises';
import wabtInit from 'wabt';

let wabt;

/** WebAssembly text -> binary (SIMD enabled). Throws with wabt's message on a syntax error. */
export async function assembleWat(path, text) {
  wabt ??= await wabtInit();
  const mod = wabt.parseWat(path, text, { simd: true });
  try {
    mod.validate();
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

export default function wat() {
  return {
    name: 'atelier-wat',
    async load(id) {
      const path = id.split('?')[0];
      if (!path.endsWith('.wat')) return null;
      const bytes = await assembleWat(path, await readFile(path, 'utf8'));
      const b64 = Buffer.from(bytes).toString('base64');
      return `const b = atob(${JSON.stringify(b64)});\nconst bytes = new Uint8Array(b.length);\nfor (let i = 0; i < b.length; i++) bytes[i] = b.charCodeAt(i);\nexport default bytes;\n`;
    },
  };
}
