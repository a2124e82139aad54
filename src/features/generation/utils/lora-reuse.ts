// LoRAs in prompts and in A1111's infotext: pure functions, unit-tested (lora-reuse.test.ts).
//
// A1111 names a LoRA twice in an image's parameters: `<lora:name:weight>` in the prompt, and
// `Lora hashes: "name: shorthash, ..."` (the first 12 hex digits of kohya's "addnet" hash, which the
// backend lists as `lora.short_hash`). File names differ between machines, hashes do not: "Reuse
// parameters" finds each LoRA by hash first, then by name, renames the prompt's tags to the names
// installed here, and drops (and names) the ones that are not installed.
import type { ModelCard } from '@/lib/api';

export interface LoraChoice {
  name: string;
  weight: number;
}

const TAG = /<lora:([^:<>]+)(?::([^:<>]*))?(?::[^<>]*)?>/gi;

/** The `<lora:name:weight>` tags of a prompt (weight 1 when absent, as in A1111). */
export function promptTags(prompt: string): LoraChoice[] {
  return [...prompt.matchAll(TAG)].map((m) => ({ name: (m[1] ?? '').trim(), weight: m[2] === undefined || m[2].trim() === '' ? 1 : Number(m[2]) }));
}

/** `Lora hashes` of an A1111 parameters text: [{name, hash}] (empty when there are none). */
export function parseLoraHashes(raw: string | undefined): { name: string; hash: string }[] {
  if (!raw) return [];
  const m = /(?:^|[\s,])Lora hashes:\s*("(?:\\.|[^"\\])*"|[^,\n]*)/.exec(raw);
  if (!m?.[1]) return [];
  const value = m[1].startsWith('"') ? m[1].slice(1, -1).replace(/\\"/g, '"').replace(/\\\\/g, '\\') : m[1];
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const i = part.lastIndexOf(':');
      return i < 0 ? { name: part, hash: '' } : { name: part.slice(0, i).trim(), hash: part.slice(i + 1).trim().toLowerCase() };
    });
}

/** Installed, usable LoRAs (`type: lora`, compatible) from GET /v1/models. */
export function usableLoras(models: ModelCard[]): ModelCard[] {
  return models.filter((m) => m.type === 'lora' && m.lora?.compatible);
}

function byName(installed: ModelCard[], name: string): ModelCard | undefined {
  const low = name.toLowerCase();
  return (
    installed.find((m) => m.id.toLowerCase() === low) ??
    installed.find((m) => (m.id.split('/').pop() ?? '').toLowerCase() === low) ??
    installed.find((m) => m.aliases.some((a) => a.toLowerCase() === low))
  );
}

function byHash(installed: ModelCard[], hash: string): ModelCard | undefined {
  if (hash.length < 10) return undefined;
  return installed.find((m) => !!m.lora?.short_hash && (m.lora.short_hash.startsWith(hash) || hash.startsWith(m.lora.short_hash) || (m.lora.sha256 ?? '').startsWith(hash)));
}

/**
 * The prompt of reused parameters with its LoRA tags pointing at the LoRAs installed here (found by
 * `Lora hashes` first, by name second), and the names of those that are not installed (their tags
 * are removed: the backend would refuse an unknown name).
 */
export function resolveReusedLoras(prompt: string, raw: string | undefined, models: ModelCard[]): { prompt: string; missing: string[]; found: string[] } {
  const installed = usableLoras(models);
  const hashes = new Map(parseLoraHashes(raw).map((h) => [h.name.toLowerCase(), h.hash]));
  const missing: string[] = [];
  const found: string[] = [];
  const out = prompt.replace(TAG, (_tag: string, rawName: string, weight: string | undefined) => {
    const name = rawName.trim();
    const hash = hashes.get(name.toLowerCase().replace(/[:,]/g, ''));
    const hit = (hash ? byHash(installed, hash) : undefined) ?? byName(installed, name);
    if (!hit) {
      missing.push(hash ? `${name} (${hash})` : name);
      return '';
    }
    found.push(hit.id);
    return `<lora:${hit.id}:${weight === undefined || weight.trim() === '' ? '1' : weight.trim()}>`;
  });
  return { prompt: missing.length ? out.replace(/[ \t]{2,}/g, ' ').replace(/\s+,/g, ',').trim() : out, missing, found };
}

/** `text` with `words` appended as a comma-separated phrase (a trigger word chip's click). */
export function insertWords(text: string, words: string): string {
  const t = text.trimEnd();
  if (!t) return words;
  if (t.toLowerCase().includes(words.toLowerCase())) return text;
  return `${t}${/[,]$/.test(t) ? ' ' : ', '}${words}`;
}

/** LoRAs matching a search, by name, alias, base or trigger word. */
export function searchLoras(loras: ModelCard[], query: string): ModelCard[] {
  const q = query.trim().toLowerCase();
  if (!q) return loras;
  return loras.filter((m) => [m.id, ...m.aliases, m.lora?.base ?? '', ...(m.lora?.triggers ?? [])].some((s) => s.toLowerCase().includes(q)));
}
