import type { GenerationParams } from '@/lib/db/schema';

// Generation parameters as AUTOMATIC1111, ComfyUI and Atelier write them into PNG text chunks.
// Atelier writes A1111's `parameters` format with `Generator: Atelier` in the settings line,
// so every A1111-aware tool can read our images too.

const PARAM_RE = /\s*([\w][\w \-/]*):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)/g;

function parseSettings(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(PARAM_RE)) {
    const key = m[1]?.trim();
    let val = (m[2] ?? '').trim();
    if (!key) continue;
    if (val.startsWith('"') && val.endsWith('"')) {
      try {
        val = JSON.parse(val) as string;
      } catch {
        val = val.slice(1, -1);
      }
    }
    out[key] = val;
  }
  return out;
}

const num = (v: string | undefined): number | undefined => {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

export function parseA1111(text: string): GenerationParams {
  const lines = text.replace(/\r\n/g, '\n').trim().split('\n');
  let settingsLine = '';
  const last = lines[lines.length - 1] ?? '';
  if (/^Steps:\s/.test(last.trim()) || (/:\s/.test(last) && lines.length > 1 && /(^|, )(Steps|Seed|Sampler): /.test(last))) {
    settingsLine = last;
    lines.pop();
  }
  const body = lines.join('\n');
  const negIdx = body.search(/(^|\n)Negative prompt:/);
  let prompt = body;
  let negativePrompt: string | undefined;
  if (negIdx >= 0) {
    prompt = body.slice(0, negIdx);
    negativePrompt = body.slice(negIdx).replace(/^\n?Negative prompt:\s*/, '').trim();
  }
  const s = parseSettings(settingsLine);
  const size = s['Size']?.match(/^(\d+)x(\d+)$/);
  const params: GenerationParams = {
    prompt: prompt.trim(),
    source: /atelier/i.test(s['Generator'] ?? '') ? 'atelier' : 'a1111',
    raw: text,
  };
  if (negativePrompt) params.negativePrompt = negativePrompt;
  const steps = num(s['Steps']);
  if (steps !== undefined) params.steps = steps;
  const cfg = num(s['CFG scale']);
  if (cfg !== undefined) params.guidance = cfg;
  const seed = num(s['Seed']);
  if (seed !== undefined) params.seed = seed;
  if (s['Sampler']) params.sampler = s['Sampler'];
  if (size) {
    params.width = Number(size[1]);
    params.height = Number(size[2]);
  }
  if (s['Model']) params.model = s['Model'];
  const strength = num(s['Denoising strength']);
  if (strength !== undefined) params.strength = strength;
  return params;
}

// --- ComfyUI ---

type Link = [string, number];
interface ApiNode {
  class_type?: string;
  inputs?: Record<string, unknown>;
}

const isLink = (v: unknown): v is Link => Array.isArray(v) && v.length === 2 && (typeof v[0] === 'string' || typeof v[0] === 'number');

function textOf(graph: Record<string, ApiNode>, v: unknown, depth = 0): string | undefined {
  if (typeof v === 'string') return v;
  if (!isLink(v) || depth > 8) return undefined;
  const node = graph[String(v[0])];
  const inputs = node?.inputs ?? {};
  // CLIPTextEncode(text), SDXL encoders (text_g/text_l), primitives (string/value), concat nodes
  for (const key of ['text', 'text_g', 'string', 'value', 'text_l', 'conditioning', 'conditioning_to', 'conditioning_1']) {
    const t = textOf(graph, inputs[key], depth + 1);
    if (t) return t;
  }
  return undefined;
}

function modelOf(graph: Record<string, ApiNode>, v: unknown, depth = 0): string | undefined {
  if (!isLink(v) || depth > 12) return undefined;
  const inputs = graph[String(v[0])]?.inputs ?? {};
  for (const key of ['ckpt_name', 'unet_name', 'model_name']) {
    const name = inputs[key];
    if (typeof name === 'string') return name;
  }
  return modelOf(graph, inputs['model'], depth + 1);
}

export function parseComfyPrompt(json: string): GenerationParams {
  const graph = JSON.parse(json) as Record<string, ApiNode>;
  if (typeof graph !== 'object' || graph === null) throw new Error('ComfyUI prompt is not an object');
  const sampler = Object.values(graph).find((n) => /sampler/i.test(n.class_type ?? '') && n.inputs && ('positive' in n.inputs || 'steps' in n.inputs));
  const inp = sampler?.inputs ?? {};
  const params: GenerationParams = {
    prompt: textOf(graph, inp['positive']) ?? firstText(graph) ?? '',
    source: 'comfyui',
    raw: json,
  };
  const neg = textOf(graph, inp['negative']);
  if (neg) params.negativePrompt = neg;
  if (typeof inp['steps'] === 'number') params.steps = inp['steps'];
  if (typeof inp['cfg'] === 'number') params.guidance = inp['cfg'];
  const seed = inp['seed'] ?? inp['noise_seed'];
  if (typeof seed === 'number') params.seed = seed;
  if (typeof inp['sampler_name'] === 'string') params.sampler = inp['sampler_name'];
  if (typeof inp['denoise'] === 'number' && inp['denoise'] < 1) params.strength = inp['denoise'];
  const model = modelOf(graph, inp['model']);
  if (model) params.model = model;
  const latent = isLink(inp['latent_image']) ? graph[String(inp['latent_image'][0])]?.inputs : undefined;
  if (latent && typeof latent['width'] === 'number' && typeof latent['height'] === 'number') {
    params.width = latent['width'];
    params.height = latent['height'];
  }
  return params;
}

function firstText(graph: Record<string, ApiNode>): string | undefined {
  for (const n of Object.values(graph)) {
    const t = n.inputs?.['text'];
    if (/CLIPTextEncode/.test(n.class_type ?? '') && typeof t === 'string') return t;
  }
  return undefined;
}

/** ComfyUI's UI-format `workflow` (used when a PNG has no API-format `prompt`). */
export function parseComfyWorkflow(json: string): GenerationParams {
  const wf = JSON.parse(json) as { nodes?: { type?: string; widgets_values?: unknown[] }[] };
  const texts = (wf.nodes ?? [])
    .filter((n) => /CLIPTextEncode/.test(n.type ?? '') && typeof n.widgets_values?.[0] === 'string')
    .map((n) => n.widgets_values![0] as string);
  const params: GenerationParams = { prompt: texts[0] ?? '', source: 'comfyui', raw: json };
  if (texts[1]) params.negativePrompt = texts[1];
  return params;
}

/** Picks the best parameters out of a PNG's text chunks; undefined when there are none. */
export function paramsFromPngText(text: Record<string, string>): GenerationParams | undefined {
  try {
    if (text['parameters']) return parseA1111(text['parameters']);
    if (text['prompt']) return parseComfyPrompt(text['prompt']);
    if (text['workflow']) return parseComfyWorkflow(text['workflow']);
  } catch {
    // malformed JSON from some node pack: fall through and keep the image without params
  }
  return undefined;
}
