import { getStatus, type StatusResponse } from '@/lib/api';
import { modelReadiness } from '@/lib/models-ready';
import { createDownloads, type Downloads } from './stores/downloads';
import { createPoller, type Poller } from './stores/poller';

let poller: Poller<StatusResponse> | undefined;
let downloads: Downloads | undefined;

/** One shared /v1/status poller; it runs while a dashboard (or indicator) is mounted. */
export function statusPoller(): Poller<StatusResponse> {
  poller ??= createPoller((signal) => getStatus(signal), { intervalMs: 2_000, hiddenMs: 20_000 });
  return poller;
}

/** Model downloads started from the status page; they keep polling if the page is left. */
export function modelDownloads(): Downloads {
  downloads ??= createDownloads({
    intervalMs: 1_000,
    onDone: () => {
      statusPoller().refresh();
      void modelReadiness().refresh(); // Generate and Analyse may be possible now
    },
  });
  return downloads;
}
