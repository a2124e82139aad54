import { useSyncExternalStore } from 'react';
import { analysisQueue } from '../analysis-service';
import type { QueueSnapshot } from '../queue/types';

export function useAnalysisQueue(): QueueSnapshot {
  const q = analysisQueue();
  return useSyncExternalStore(q.subscribe, q.getSnapshot);
}
