// `import bytes from './x.wat'`: the module assembled at build time (scripts/vite-plugin-wat.mjs).
declare module '*.wat' {
  const bytes: Uint8Array;
  export default bytes;
}
