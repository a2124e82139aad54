/// <reference types="node" />
// A small stand-in for the Atelier backend, for unit tests in Node: the routes the analysis
// queue and the job client use, with knobs for failures, latency and queue depth.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { settings } from '@/lib/api/config';

export interface FakeBackend {
  url: string;
  port: number;
  /** every /v1/analyze/batch call: the images it carried */
  batches: string[][];
  /** most /v1/analyze/batch requests in flight at once */
  maxConcurrent: number;
  /** queued jobs reported by /v1/status */
  queueDepth: number;
  /** the catalog reported by /v1/status (as the real one: state, and download_hint when not downloaded) */
  models: { id: string; kind: string; state: string; download_hint?: string }[];
  /** the vision model's measured speed reported by /v1/status (none: a model that never ran) */
  msPerImage?: number;
  /** per call: return a response to override the default success */
  onBatch?: (images: string[], call: number) => { status: number; body: unknown; headers?: Record<string, string> } | undefined;
  latencyMs: number;
  /**
   * Model downloads: `downloadPlan[id]` is what the download does once started — the bytes it
   * reports at each GET, then `done` (or an error). `downloadStartError` makes POST fail at once.
   */
  downloadPlan: Record<string, { total: number; steps: number[]; fail?: { message: string; code: string } }>;
  downloadStartError?: { status: number; body: unknown };
  /** download requests, as 'POST id' / 'GET id' */
  downloadCalls: string[];
  /** embeddings models listed by /v1/models (none: the backend has no embeddings family) */
  embeddingModels: { id: string; downloaded: boolean; size_bytes?: number }[];
  /** what /v1/embeddings returns for one input (text, or an image data URL) */
  embed: (input: string) => number[];
  /** every /v1/embeddings call: its inputs */
  embeddingCalls: { model: string; input: string[]; encoding_format?: string }[];
  /** per /v1/embeddings call: return a response to override the default success */
  onEmbeddings?: (input: string[]) => { status: number; body: unknown } | undefined;
  /** answer /v1/embeddings with float arrays even when base64 is asked (servers that ignore it) */
  embeddingsAsFloats?: boolean;
  close(): Promise<void>;
  /** listen again on the same port (a backend restart) */
  restart(): Promise<void>;
  server: Server;
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

/** As the backend decides `default_models`: the first downloaded model of the kind, else the first of it. */
function defaultOf(models: FakeBackend['models'], kind: string): string | null {
  const ofKind = models.filter((m) => m.kind === kind);
  return (ofKind.find((m) => m.state !== 'not_downloaded') ?? ofKind[0])?.id ?? null;
}

function send(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(payload));
}

/** The image's identity in tests: the data URL payload is the record id, base64-encoded. */
export function idOfImage(dataUrl: string): string {
  return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64').toString('utf8');
}

export async function startFakeBackend(port = 0): Promise<FakeBackend> {
  let inflight = 0;
  let calls = 0;
  /** model id -> GETs answered since the download started */
  const downloads = new Map<string, number>();
  const fake: FakeBackend = {
    url: '',
    port: 0,
    batches: [],
    maxConcurrent: 0,
    queueDepth: 0,
    models: [{ id: 'tiny-sdxl', kind: 'generation', state: 'on_disk' }, { id: 'tiny-vlm', kind: 'vision', state: 'on_disk' }],
    latencyMs: 5,
    downloadPlan: {},
    downloadCalls: [],
    embeddingModels: [],
    embed: (input) => Array.from({ length: 8 }, (_, i) => Math.sin(input.length * (i + 1) + input.charCodeAt(0) * 0.01)),
    embeddingCalls: [],
    server: undefined as unknown as Server,
    close: () =>
      new Promise<void>((resolve) => {
        fake.server.closeAllConnections();
        fake.server.close(() => resolve());
      }),
    restart: () => listen(fake.port),
  };

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    const counted = url === '/v1/analyze/batch';
    if (counted) inflight++;
    fake.maxConcurrent = Math.max(fake.maxConcurrent, inflight);
    try {
      await new Promise((r) => setTimeout(r, fake.latencyMs));
      if (req.method === 'GET' && url === '/v1/models') {
        const card = { object: 'model', created: 0, owned_by: 'atelier', family: 'x', description: '', aliases: [], loaded: false, size_bytes: null };
        const embedders = fake.embeddingModels.map((m) => ({ ...card, type: 'embeddings', ...m }));
        return send(res, 200, { object: 'list', data: [{ id: 'tiny-vlm', object: 'model', created: 0, owned_by: 'atelier', type: 'vision', downloaded: true, loaded: true }, ...embedders] });
      }
      if (req.method === 'POST' && url === '/v1/embeddings') {
        const b = (await body(req)) as { model: string; input: string | string[]; encoding_format?: string };
        const input = Array.isArray(b.input) ? b.input : [b.input];
        fake.embeddingCalls.push({ model: b.model, input, ...(b.encoding_format ? { encoding_format: b.encoding_format } : {}) });
        const override = fake.onEmbeddings?.(input);
        if (override) return send(res, override.status, override.body);
        if (!fake.embeddingModels.some((m) => m.id === b.model && m.downloaded)) return send(res, 404, envelope(`Model '${b.model}' is not downloaded.`, 'model_not_downloaded'));
        const b64 = b.encoding_format === 'base64' && !fake.embeddingsAsFloats;
        const data = input.map((x, index) => {
          const v = Float32Array.from(fake.embed(x));
          return { object: 'embedding', index, embedding: b64 ? Buffer.from(v.buffer).toString('base64') : [...v] };
        });
        return send(res, 200, { object: 'list', data: data.reverse(), model: b.model, usage: { prompt_tokens: input.length, total_tokens: input.length } });
      }
      if (req.method === 'GET' && url === '/v1/status') {
        return send(res, 200, { device: { type: 'cpu' }, models: fake.models, default_models: { generation: defaultOf(fake.models, 'generation'), vision: defaultOf(fake.models, 'vision') }, queue: { running: null, queued: Array.from({ length: fake.queueDepth }, (_, i) => ({ id: `q${i}` })) }, analysis: fake.msPerImage ? { 'tiny-vlm': { ms_per_image: fake.msPerImage, images: 8, batches: 1, last_at: 1 } } : {} });
      }
      const dl = /^\/v1\/models\/([^/]+)\/download$/.exec(url);
      if (dl) {
        const id = decodeURIComponent(dl[1]!);
        fake.downloadCalls.push(`${req.method} ${id}`);
        const plan = fake.downloadPlan[id];
        if (!plan) return send(res, 404, envelope(`Model '${id}' is not in the catalog.`, 'model_not_found'));
        const progress = (state: string, bytes: number, error: unknown = null) => ({ object: 'model.download', model: id, state, bytes_done: bytes, bytes_total: plan.total, files_total: 3, repos: [`org/${id}`], error, started_at: 1, finished_at: null });
        if (req.method === 'POST') {
          if (fake.downloadStartError) return send(res, fake.downloadStartError.status, fake.downloadStartError.body);
          downloads.set(id, 0);
          return send(res, 202, progress('running', 0));
        }
        const polls = downloads.get(id);
        if (polls === undefined) return send(res, 200, progress('idle', 0));
        downloads.set(id, polls + 1);
        if (polls < plan.steps.length) return send(res, 200, progress('running', plan.steps[polls]!));
        if (plan.fail) return send(res, 200, progress('error', plan.steps.at(-1) ?? 0, { ...plan.fail, type: 'server_error', param: null }));
        return send(res, 200, progress('done', plan.total));
      }
      if (req.method === 'POST' && url === '/v1/analyze/batch') {
        const b = (await body(req)) as { images: string[] };
        const ids = b.images.map(idOfImage);
        const call = calls++;
        const override = fake.onBatch?.(ids, call);
        if (override) return send(res, override.status, override.body, override.headers);
        fake.batches.push(ids);
        return send(res, 200, {
          model: 'tiny-vlm',
          object: 'list',
          timings: {},
          data: ids.map((id, index) => ({ index, caption: `a picture of ${id}`, tags: [{ name: 'test', score: 0.9 }, { name: id, score: null }], nsfw: { label: 'safe', score: 0.01 } })),
        });
      }
      send(res, 404, { error: { message: `no route ${req.method} ${url}`, type: 'invalid_request_error', param: null, code: 'not_found' } });
    } catch {
      // the client went away mid-request (a test "closed the tab")
    } finally {
      if (counted) inflight--;
    }
  };

  function listen(p: number): Promise<void> {
    fake.server = createServer((req, res) => void handler(req, res));
    return new Promise((resolve) => {
      fake.server.listen(p, '127.0.0.1', () => {
        fake.port = (fake.server.address() as AddressInfo).port;
        fake.url = `http://127.0.0.1:${fake.port}`;
        resolve();
      });
    });
  }

  await listen(port);
  return fake;
}

export function envelope(message: string, code: string, type = 'invalid_request_error') {
  return { error: { message, type, param: null, code } };
}

/** A fake backend for one test file, with the settings pointed at it; call the getter in tests. */
export function useFakeBackend(): () => FakeBackend {
  let backend: FakeBackend | undefined;
  beforeAll(async () => {
    backend = await startFakeBackend();
    settings.set({ backendUrl: backend.url, apiKey: '' });
  });
  afterAll(() => backend?.close());
  return () => backend!;
}
