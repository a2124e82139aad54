// Whether the backend can generate and analyse yet: on a first run no model is downloaded, and
// every request would fail with "not downloaded". The app reads this to show the first-run panel,
// to disable Generate and Analyse with the reason, and the analysis queue to wait instead of fail.
// Framework-free store over GET /v1/status (polled while something is missing, then not at all).
import { useSyncExternalStore } from 'react';
import { ATELIER, getStatus, settings, type ModelStatus, type Settings, type StatusResponse } from '@/lib/api';

export type ModelKind = 'generation' | 'vision';

export interface MissingModel {
  id: string;
  /** about what its download fetches; undefined where the backend could not size it */
  bytes: number | undefined;
  /** the backend's one wording: names the Download button and `make models MODELS=<id>` */
  hint: string;
}

export interface KindReadiness {
  ready: boolean;
  /** the model the backend gives a request of this kind that names none (`default_models` of /v1/status) */
  default?: string;
  /** models of this kind not downloaded, the one a request would use first */
  missing: MissingModel[];
  /** why work of this kind cannot start (the backend's words); undefined when ready */
  reason?: string;
}

export interface Readiness {
  /** false until the backend answered (nothing is disabled on a guess) */
  known: boolean;
  generation: KindReadiness;
  vision: KindReadiness;
}

const READY: KindReadiness = { ready: true, missing: [] };
export const UNKNOWN: Readiness = { known: false, generation: READY, vision: READY };

const hintOf = (m: ModelStatus) => m.download_hint ?? `model '${m.id}' is not downloaded`;

/**
 * One kind's readiness from the backend's model list. `chosen`: the model the user picked in
 * Settings ('' = none: the backend's default, `serverDefault`, decided on the server).
 */
export function kindReadiness(models: readonly ModelStatus[], kind: ModelKind, chosen: string, serverDefault?: string | null): KindReadiness {
  const ofKind = models.filter((m) => m.kind === kind);
  const missing = ofKind.filter((m) => m.state === 'not_downloaded');
  // The model a request would use: the chosen one, else the one the backend says it gives.
  const first = (chosen ? ofKind.find((m) => m.id === chosen) : undefined) ?? ofKind.find((m) => m.id === serverDefault);
  const ready = first !== undefined && first.state !== 'not_downloaded';
  const order = first && !ready ? [first, ...missing.filter((m) => m !== first)] : missing;
  const out: KindReadiness = { ready, missing: order.map((m) => ({ id: m.id, bytes: m.download_bytes ?? undefined, hint: hintOf(m) })) };
  if (serverDefault) out.default = serverDefault;
  if (!ready) out.reason = order[0] ? hintOf(order[0]) : `the backend serves no ${kind === 'vision' ? 'vision' : 'image'} model`;
  return out;
}

export type StatusModels = Pick<StatusResponse, 'models' | 'default_models'>;

/** Readiness for the current settings: work sent to another provider does not need our models. */
export function readinessOf(status: StatusModels, cfg: Settings): Readiness {
  return {
    known: true,
    generation: cfg.imagesProvider !== ATELIER ? READY : kindReadiness(status.models, 'generation', cfg.generationModel, status.default_models.generation),
    vision: cfg.visionProvider !== ATELIER ? READY : kindReadiness(status.models, 'vision', cfg.visionModel, status.default_models.vision),
  };
}

export interface ReadinessStore {
  subscribe(listener: () => void): () => void;
  getSnapshot(): Readiness;
  /** ask the backend now (after a download finished, or when a request said "not downloaded") */
  refresh(): Promise<Readiness>;
  /** the settings changed: what is needed may have */
  recompute(): void;
}

export function createReadinessStore(opts: { fetch: (signal: AbortSignal) => Promise<StatusModels>; cfg: () => Settings; pollMs?: number }): ReadinessStore {
  const pollMs = opts.pollMs ?? 5_000;
  let snap = UNKNOWN;
  let last: StatusModels | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inflight: Promise<Readiness> | undefined;
  let failures = 0;
  const listeners = new Set<() => void>();

  const set = (next: Readiness) => {
    if (JSON.stringify(next) === JSON.stringify(snap)) return;
    snap = next;
    listeners.forEach((l) => l());
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = undefined;
    // Poll only while something is missing (a download may finish), and back off while the backend
    // does not answer (the request paths say so themselves).
    if (listeners.size > 0 && !(snap.known && snap.generation.ready && snap.vision.ready)) timer = setTimeout(() => void refresh(), Math.min(60_000, pollMs * 2 ** failures));
  };
  const refresh = (): Promise<Readiness> => {
    inflight ??= (async () => {
      try {
        last = await opts.fetch(new AbortController().signal);
        failures = 0;
        set(readinessOf(last, opts.cfg()));
      } catch {
        failures++; // unreachable: keep what we knew
      } finally {
        inflight = undefined;
        schedule();
      }
      return snap;
    })();
    return inflight;
  };
  return {
    subscribe(listener) {
      listeners.add(listener);
      if (listeners.size === 1) void refresh();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) clearTimeout(timer);
      };
    },
    getSnapshot: () => snap,
    refresh,
    recompute() {
      if (last) set(readinessOf(last, opts.cfg()));
    },
  };
}

let store: ReadinessStore | undefined;

/** The app's one readiness store, over our backend's /v1/status and the current settings. */
export function modelReadiness(): ReadinessStore {
  if (!store) {
    const s = createReadinessStore({ fetch: (signal) => getStatus(signal), cfg: settings.get });
    // A change of provider or chosen model in Settings changes what is needed.
    settings.subscribe(() => s.recompute());
    store = s;
  }
  return store;
}

export function useModelReadiness(): Readiness {
  const s = modelReadiness();
  return useSyncExternalStore(s.subscribe, s.getSnapshot);
}
