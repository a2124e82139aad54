import { getStatus, type StatusResponse } from '@/lib/api';
import { createPoller, type Poller } from './stores/poller';

let poller: Poller<StatusResponse> | undefined;

/** One shared /v1/status poller; it runs while a dashboard (or indicator) is mounted. */
export function statusPoller(): Poller<StatusResponse> {
  poller ??= createPoller((signal) => getStatus(signal), { intervalMs: 2_000, hiddenMs: 20_000 });
  return poller;
}
