import { describe, expect, it } from 'vitest';
import { addPngText, crc32, encodePng, formatA1111, textChunk } from '@/test/png-writer';
import { readPngInfo } from './png-text';
import { paramsFromPngText, parseA1111 } from './gen-params';
import { readMetadata } from './metadata';
import { hashBytes } from './hash';
import { sniffMime } from './sniff';

const A1111 = `masterpiece, a lighthouse at dusk, (oil painting:1.2)
over two lines
Negative prompt: blurry, lowres
Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 3141592653, Size: 832x1216, Model hash: 31e35c80fc, Model: juggernautXL_v9, Denoising strength: 0.35, Lora hashes: "detail: abc, style: def", Version: v1.9.4`;

const COMFY = JSON.stringify({
  '3': { class_type: 'KSampler', inputs: { seed: 42, steps: 20, cfg: 8, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['10', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd_xl_base_1.0.safetensors' } },
  '10': { class_type: 'LoraLoader', inputs: { model: ['4', 0], clip: ['4', 1], lora_name: 'x.safetensors' } },
  '5': { class_type: 'EmptyLatentImage', inputs: { width: 1024, height: 768, batch_size: 1 } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: ['12', 0], clip: ['4', 1] } },
  '12': { class_type: 'PrimitiveNode', inputs: { value: 'a red fox in snow, 35mm' } },
  '7': { class_type: 'CLIPTextEncode', inputs: { text: 'watermark', clip: ['4', 1] } },
});

const png = () => encodePng(3, 2, (x, y) => [x * 80, y * 100, 50, 255]);

describe('PNG text chunks', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('reads tEXt, zTXt and iTXt (UTF-8) chunks and the IHDR size', () => {
    const file = addPngText(png(), [textChunk('tEXt', 'parameters', A1111), textChunk('zTXt', 'note', 'zipped'), textChunk('iTXt', 'Title', 'café ☕')]);
    const info = readPngInfo(file);
    expect([info.width, info.height]).toEqual([3, 2]);
    expect(info.text).toEqual({ parameters: A1111, note: 'zipped', Title: 'café ☕' });
  });

  it('rejects a truncated PNG', () => {
    const file = addPngText(png(), [textChunk('tEXt', 'parameters', A1111)]);
    expect(() => readPngInfo(file.subarray(0, 60))).toThrow(/truncated/);
  });
});

describe('generation parameters', () => {
  it('parses a real A1111 parameters chunk', async () => {
    const file = addPngText(png(), [textChunk('tEXt', 'parameters', A1111)]);
    const meta = await readMetadata(file, 'image/png');
    expect(meta.params).toMatchObject({
      source: 'a1111',
      prompt: 'masterpiece, a lighthouse at dusk, (oil painting:1.2)\nover two lines',
      negativePrompt: 'blurry, lowres',
      steps: 28, sampler: 'DPM++ 2M Karras', guidance: 6.5, seed: 3141592653, width: 832, height: 1216,
      model: 'juggernautXL_v9', strength: 0.35,
    });
  });

  it('parses a real ComfyUI prompt graph through links, primitives and LoRA loaders', async () => {
    const file = addPngText(png(), [textChunk('tEXt', 'prompt', COMFY), textChunk('tEXt', 'workflow', '{"nodes":[]}')]);
    const meta = await readMetadata(file, 'image/png');
    expect(meta.params).toMatchObject({
      source: 'comfyui', prompt: 'a red fox in snow, 35mm', negativePrompt: 'watermark',
      steps: 20, guidance: 8, seed: 42, sampler: 'euler', model: 'sd_xl_base_1.0.safetensors', width: 1024, height: 768,
    });
  });

  it('falls back to the ComfyUI UI workflow when there is no API prompt', () => {
    const wf = JSON.stringify({ nodes: [{ type: 'CLIPTextEncode', widgets_values: ['castle'] }, { type: 'CLIPTextEncode', widgets_values: ['ugly'] }] });
    expect(paramsFromPngText({ workflow: wf })).toMatchObject({ prompt: 'castle', negativePrompt: 'ugly', source: 'comfyui' });
  });

  it('round-trips Atelier parameters written in A1111 format', () => {
    const text = formatA1111({ prompt: 'a cat, "quoted"', negativePrompt: 'dog', steps: 4, guidance: 5, seed: 7, width: 64, height: 64, model: 'tiny-sdxl', sampler: 'Euler, a' });
    const p = parseA1111(text);
    expect(p).toMatchObject({ source: 'atelier', prompt: 'a cat, "quoted"', negativePrompt: 'dog', steps: 4, guidance: 5, seed: 7, width: 64, height: 64, model: 'tiny-sdxl', sampler: 'Euler, a' });
  });

  it('keeps the image when a ComfyUI chunk holds broken JSON', () => {
    expect(paramsFromPngText({ prompt: '{broken' })).toBeUndefined();
  });

  it('treats a prompt with no settings line as prompt only', () => {
    expect(parseA1111('just a prompt')).toMatchObject({ prompt: 'just a prompt', source: 'a1111' });
  });
});

describe('hashing and sniffing', () => {
  it('hashes with crypto.subtle and with the WASM fallback to the same hex', async () => {
    const bytes = new TextEncoder().encode('abc');
    const expected = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(await hashBytes(bytes)).toBe(expected);
    expect(await hashBytes(bytes, null)).toBe(expected);
  });

  it('falls back when there is no crypto.subtle, or it refuses, and agrees on large input', async () => {
    const bytes = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 2654435761) >>> 24);
    const viaSubtle = await hashBytes(bytes);
    const refusing = { digest: () => Promise.reject(new DOMException('insecure', 'NotSupportedError')) } as unknown as SubtleCrypto;
    let used = false;
    const spying = { digest: (...a: Parameters<SubtleCrypto['digest']>) => ((used = true), crypto.subtle.digest(...a)) } as unknown as SubtleCrypto;
    expect(await hashBytes(bytes, null)).toBe(viaSubtle);
    expect(await hashBytes(bytes, refusing)).toBe(viaSubtle);
    expect(await hashBytes(bytes, spying)).toBe(viaSubtle);
    expect(used).toBe(true);
  });

  it('sniffs formats from magic bytes, not names', () => {
    expect(sniffMime(png())).toBe('image/png');
    expect(sniffMime(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffMime(new TextEncoder().encode('hello world'))).toBeUndefined();
  });
});
