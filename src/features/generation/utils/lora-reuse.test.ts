import { describe, expect, it } from 'vitest';
import type { ModelCard } from '@/lib/api';
import { insertWords, parseLoraHashes, promptTags, resolveReusedLoras, searchLoras } from './lora-reuse';

function lora(id: string, shortHash: string, extra: Partial<NonNullable<ModelCard['lora']>> = {}, aliases: string[] = []): ModelCard {
  return {
    id, object: 'model', created: 0, owned_by: 'atelier', type: 'lora', family: 'lora', description: '', aliases, downloaded: true, loaded: false, size_bytes: 1,
    lora: { status: 'ok', compatible: true, base: 'sdxl', format: 'kohya', triggers: ['inkwash'], short_hash: shortHash, sha256: `${shortHash}ffff`, ...extra },
  };
}

const RAW = `a harbour <lora:detail_tweaker_xl:0.8>, <lora:inkStyle:1.1> <lora:gone:0.5>
Negative prompt: blurry
Steps: 28, Sampler: Euler a, CFG scale: 6, Seed: 1, Size: 832x1216, Model: juggernaut, Lora hashes: "detail_tweaker_xl: 0123456789ab, inkStyle: abcdefabcdef, gone: 999999999999", Version: v1.9.4`;

describe('LoRAs of reused A1111 parameters', () => {
  it('parses Lora hashes, quoted or not', () => {
    expect(parseLoraHashes(RAW)).toEqual([
      { name: 'detail_tweaker_xl', hash: '0123456789ab' },
      { name: 'inkStyle', hash: 'abcdefabcdef' },
      { name: 'gone', hash: '999999999999' },
    ]);
    expect(parseLoraHashes('x\nSteps: 2, Lora hashes: a: 0123456789ab')).toEqual([{ name: 'a', hash: '0123456789ab' }]);
    expect(parseLoraHashes('x\nSteps: 2, Seed: 1')).toEqual([]);
  });

  it('finds LoRAs by hash under another file name, by name otherwise, and names the missing ones', () => {
    const installed = [lora('styles/ink-v2', 'abcdefabcdef'), lora('detail_tweaker_xl', '555555555555'), lora('sd15', '0123456789ab', { compatible: false, status: 'incompatible' })];
    const prompt = RAW.split('\n')[0]!;
    const out = resolveReusedLoras(prompt, RAW, installed);
    // detail_tweaker_xl's hash matches only an incompatible file: found by its name instead.
    expect(out.prompt).toBe('a harbour <lora:detail_tweaker_xl:0.8>, <lora:styles/ink-v2:1.1>');
    expect(out.found).toEqual(['detail_tweaker_xl', 'styles/ink-v2']);
    expect(out.missing).toEqual(['gone (999999999999)']);
  });

  it('reads prompt tags and inserts trigger words once', () => {
    expect(promptTags('x <lora:a> <lora:b:-0.5:te=1>')).toEqual([{ name: 'a', weight: 1 }, { name: 'b', weight: -0.5 }]);
    expect(insertWords('a cat', 'inkwash')).toBe('a cat, inkwash');
    expect(insertWords('a cat, inkwash', 'inkwash')).toBe('a cat, inkwash');
    expect(insertWords('', 'inkwash')).toBe('inkwash');
  });

  it('searches by name, alias and trigger word', () => {
    const all = [lora('ink', 'a'.repeat(12)), lora('portrait-light', 'b'.repeat(12), { triggers: ['rim light'] }, ['pl_v3'])];
    expect(searchLoras(all, 'rim').map((m) => m.id)).toEqual(['portrait-light']);
    expect(searchLoras(all, 'PL_V').map((m) => m.id)).toEqual(['portrait-light']);
    expect(searchLoras(all, '')).toHaveLength(2);
  });
});
