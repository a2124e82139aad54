// Composition of the queue for the app: IndexedDB persistence, the analyzer chosen in Settings
// (our /v1/analyze/batch or an OpenAI-compatible provider), and the library as the result sink.
// One tab runs it (the leader, elected with Web Locks, or a localStorage lease where those are
// missing); the others forward their commands to it and show its progress (queue/shared-queue.ts).
import { ATELIER, providerById, settings } from '@/lib/api';
import { getOriginal, getRecord, isImporting, onGenerated, onImported, onImporting } from '@/lib/db/library-api';
import { emit } from '@/lib/db/events';
import type { ImageRecord } from '@/lib/db/schema';
import { atelierAnalyzer } from './api/atelier-analyzer';
import { chatAnalyzer } from './api/chat-analyzer';
import { startEmbedLane } from './queue/embed-lane-service';
import { idbPersistence } from './queue/idb-persistence';
import { librarySink } from './queue/library-sink';
import { broadcastChannel } from '@/lib/leader/channel';
import { browserElection } from '@/lib/leader/election';
import { AnalysisQueue } from './queue/scheduler';
import { CHANNEL_NAME, QUEUE_ELECTION, SharedQueue } from './queue/shared-queue';
import type { Analyzer, QueuePersistence } from './queue/types';

let queue: SharedQueue | undefined;
let persistence: QueuePersistence | undefined;
let analyzerCache: { key: string; analyzer: Analyzer } | undefined;
/** this tab's queue while it leads */
let local: AnalysisQueue | undefined;
/** whether this tab is importing: asked, not tracked from 'importing' events (this module loads
 * after the first paint, and an import started before would never have held the work) */
const importing = isImporting;

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

/** Another tab (the leader) wrote results onto these records: show them here too. */
async function reloadRecords(ids: string[]): Promise<void> {
  const recs = (await Promise.all(ids.map((id) => getRecord(id).catch(() => undefined)))).filter((r): r is ImageRecord => !!r);
  if (recs.length) emit('updated', recs);
}

/**
 * The app's one analysis queue, shared by all its tabs: the AnalysisQueue's methods, run by
 * whichever tab leads (see queue/shared-queue.ts).
 */
export function analysisQueue(): SharedQueue {
  queue ??= new SharedQueue({
    // A fresh queue each time this tab becomes the leader; it resumes from the persisted items.
    create: () =>
      (local = new AnalysisQueue({
        persistence: (persistence ??= idbPersistence()),
        analyzer: currentAnalyzer,
        sink: librarySink((ids) => ids.forEach((id) => queue?.announceApplied(id))),
        // Imports are queued as they commit (durably: a reload loses none), but analysed once the
        // import ends: decoding the originals again meanwhile slowed the import by a fifth.
        holdAuto: importing,
      })),
    onApplied: (ids) => void reloadRecords(ids),
    // followers forward their commands to the leader: without BroadcastChannel each tab runs its own
    election: (id) => browserElection(QUEUE_ELECTION, { id, needsChannel: true }),
    channel: () => (typeof BroadcastChannel === 'undefined' ? undefined : broadcastChannel(CHANNEL_NAME)),
  });
  return queue;
}

/**
 * Start the queue (resuming whatever a previous page left) and queue new imports when
 * "Analyse new imports" is on, and generated images when "Analyse generated images" is (they
 * get captions, tags and the NSFW check like anything else in the library). Returns the cleanup
 * for the App's effect.
 */
export function startAnalysis(): () => void {
  const q = analysisQueue();
  void q.start();
  const offImported = onImported((ids) => {
    if (settings.get().autoAnalyze && ids.length) void q.enqueue(ids, 'auto');
  });
  const offGenerated = onGenerated((ids) => {
    if (settings.get().analyzeGenerated && ids.length) void q.enqueue(ids, 'auto');
  });
  // the indexing lane (search by meaning, find similar, bursts): embeds what has no vector yet
  const embeds = startEmbedLane({ hold: importing });
  const offImporting = onImporting((now) => {
    if (!now) {
      local?.wake();
      embeds.wake();
    }
  });
  return () => {
    offImported();
    offGenerated();
    offImporting();
    embeds.stop();
  };
}

/** Re-analyse a selection (user work: goes before queued imports). AI tags are replaced, user tags kept. */
export function analyzeRecords(ids: readonly string[]): Promise<void> {
  return analysisQueue().enqueue(ids, 'user');
}
