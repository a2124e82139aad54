// Composition of the queue for the app: IndexedDB persistence, the analyzer chosen in Settings
// (our /v1/analyze/batch or an OpenAI-compatible provider), and the library as the result sink.
import { ATELIER, providerById, settings } from '@/lib/api';
import { applyAnalysis, getOriginal, onImported } from '@/lib/db/library-api';
import { atelierAnalyzer } from './api/atelier-analyzer';
import { chatAnalyzer } from './api/chat-analyzer';
import { idbPersistence } from './queue/idb-persistence';
import { AnalysisQueue } from './queue/scheduler';
import type { Analyzer } from './queue/types';

let queue: AnalysisQueue | undefined;
let analyzerCache: { key: string; analyzer: Analyzer } | undefined;

function currentAnalyzer(): Analyzer {
  const s = settings.get();
  const provider = s.visionProvider !== ATELIER ? providerById(s, s.visionProvider) : undefined;
  const key = provider ? `${provider.id}|${provider.baseUrl}|${provider.model}|${provider.apiKey}` : `${ATELIER}|${s.backendUrl}`;
  if (analyzerCache?.key !== key) {
    const analyzer = provider
      ? chatAnalyzer({ provider, images: getOriginal })
      : atelierAnalyzer({ images: getOriginal, model: () => settings.get().visionModel });
    analyzerCache = { key, analyzer };
  }
  return analyzerCache.analyzer;
}

/** The app's one analysis queue. */
export function analysisQueue(): AnalysisQueue {
  queue ??= new AnalysisQueue({
    persistence: idbPersistence(),
    analyzer: currentAnalyzer,
    sink: async (id, result) => ((await applyAnalysis(id, result)) ? undefined : 'gone'),
  });
  return queue;
}

/**
 * Start the queue (resuming whatever a previous page left) and queue new imports when
 * "Analyse new imports" is on. Returns the cleanup for the App's effect.
 */
export function startAnalysis(): () => void {
  const q = analysisQueue();
  void q.start();
  const off = onImported((ids) => {
    if (settings.get().autoAnalyze && ids.length) void q.enqueue(ids, 'auto');
  });
  return off;
}

/** Re-analyse a selection (user work: goes before queued imports). AI tags are replaced, user tags kept. */
export function analyzeRecords(ids: readonly string[]): Promise<void> {
  return analysisQueue().enqueue(ids, 'user');
}
