// Import orchestration: one import at a time, after the library is in memory (duplicate detection
// needs every hash), through the worker pool into IndexedDB, announcing what it committed. The
// library store shows its progress; the pipeline itself is ../utils/import-pipeline.ts.
import { emit } from '@/lib/db/events';
import { putImages } from '@/lib/db/records';
import type { ImageRecord } from '@/lib/db/schema';
import { imagePool } from '@/lib/workers/image-pool';
import { displayPath, runImport, type ImportItem, type ImportProgress } from '../utils/import-pipeline';

export interface ImporterDeps {
  /** resolves once every record is in memory */
  whenReady: () => Promise<void>;
  /** the library's records now (their hashes and paths name the duplicates) */
  records: () => Iterable<ImageRecord>;
  onProgress: (progress: ImportProgress) => void;
  /** an import is already running (the request is ignored) */
  onBusy: () => void;
  /** the import ended (done, cancelled or stopped by a full disk) */
  onEnd: (progress: ImportProgress) => void;
}

export function createImporter(deps: ImporterDeps) {
  let ctrl: AbortController | null = null;
  return {
    running: () => ctrl !== null,
    cancel(): void {
      ctrl?.abort();
    },
    async run(items: ImportItem[]): Promise<void> {
      if (!items.length) return;
      await deps.whenReady();
      if (ctrl) return deps.onBusy();
      ctrl = new AbortController();
      const knownHashes = new Map<string, string>();
      for (const r of deps.records()) knownHashes.set(r.hash, displayPath(r));
      const pool = imagePool();
      emit('importing', true);
      const progress = await runImport(
        items,
        {
          process: (file, name) => pool.process(file, name),
          commit: async (imgs) => {
            await putImages(imgs);
            emit('thumbs', imgs.map((i) => ({ id: i.record.id, thumb: i.thumb })));
          },
          knownHashes,
          onCommitted: (records) => {
            emit('added', records);
            emit('imported', records.map((r) => r.id));
          },
          onProgress: deps.onProgress,
        },
        { signal: ctrl.signal, concurrency: pool.size * 2 },
      ).finally(() => emit('importing', false));
      ctrl = null;
      deps.onEnd(progress);
    },
  };
}
