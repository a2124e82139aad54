// Which embeddings model the app uses: the backend's, found in GET /v1/models (a model whose type
// is 'embeddings'). Search by meaning, find-similar and the indexing lane all ask here, so they
// agree, and a model change (another model downloaded, or chosen) shows as a new id: the vectors
// of the old one are then stale (see store.ts).
import { listModels, type ModelCard } from '@/lib/api';

export type EmbeddingModel =
  /** ready to embed */
  | { state: 'ready'; id: string }
  /** the catalog has one, not downloaded yet: what to download */
  | { state: 'missing'; candidate: ModelCard | null }
  /** the backend cannot be asked (offline, error) */
  | { state: 'unknown'; reason: string };

const isEmbeddings = (m: ModelCard) => (m.type as string) === 'embeddings' || (m.type as string) === 'embedding';

/** The model to use: a loaded one, else a downloaded one; else the catalog's first to download. */
export function pickEmbeddingModel(models: readonly ModelCard[]): EmbeddingModel {
  const all = models.filter(isEmbeddings);
  const ready = all.find((m) => m.loaded) ?? all.find((m) => m.downloaded);
  if (ready) return { state: 'ready', id: ready.id };
  return { state: 'missing', candidate: all[0] ?? null };
}

const TTL_MS = 60_000;
let cached: { at: number; value: Promise<EmbeddingModel> } | undefined;

/** Asked at most once a minute (a download elsewhere shows within that); `fresh` asks now. */
export function embeddingModel({ fresh = false, now = Date.now() }: { fresh?: boolean; now?: number } = {}): Promise<EmbeddingModel> {
  if (!fresh && cached && now - cached.at < TTL_MS) return cached.value;
  const value = listModels()
    .then(pickEmbeddingModel)
    .catch((err: unknown): EmbeddingModel => ({ state: 'unknown', reason: err instanceof Error ? err.message : String(err) }));
  cached = { at: now, value };
  return value;
}
