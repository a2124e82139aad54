// The queue's production result sink: the library, written once per key.
//
// Exactly once: each entry's idempotency key (`${jobId}:${recordId}`) is stored on the record it
// was written to (`analysis.key`), in the same IndexedDB put as the result itself, so the two can
// never disagree. A replayed entry (the page died between this write and the queue's `done`)
// finds its key already there and writes nothing: the record, its `analysis.at` and whatever the
// user changed since stay as they are. One key per record is enough because the queue holds at
// most one active item per record: no other result for it can land between a write and its replay.
import { applyAnalyses } from '@/lib/db/library-api';
import type { ResultSink } from './types';

/** `onApplied` hears the ids still in the library (written now or before), for the other tabs. */
export function librarySink(onApplied?: (recordIds: string[]) => void): ResultSink {
  return async (entries) => {
    const gone = await applyAnalyses(entries.map((e) => ({ id: e.recordId, result: e.result, key: e.key })));
    const left = new Set(gone);
    onApplied?.(entries.filter((e) => !left.has(e.recordId)).map((e) => e.recordId));
    return { gone };
  };
}
