import { useSyncExternalStore } from 'react';
import { analysisQueue } from '../analysis-service';
import type { Role } from '../queue/shared-queue';

/** Whether this tab runs the analysis queue ('leader') or shows another tab's ('follower'). */
export function useQueueRole(): Role {
  const q = analysisQueue();
  return useSyncExternalStore(q.subscribe, () => q.role());
}
