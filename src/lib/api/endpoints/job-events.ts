import { backendFetchInit } from '../client';
import { streamSse } from '../sse';
import type { JobEventData } from '../types';

/** GET /v1/jobs/{id}/events as parsed objects; ends after done, error or cancelled. */
export async function* jobEvents(id: string, signal?: AbortSignal): AsyncGenerator<JobEventData> {
  const { url, headers } = backendFetchInit(`/v1/jobs/${encodeURIComponent(id)}/events`);
  for await (const msg of streamSse(url, { headers, signal })) {
    if (msg.data === '[DONE]') return;
    let ev: JobEventData;
    try {
      ev = JSON.parse(msg.data) as JobEventData;
    } catch {
      continue; // a malformed line must not end the progress display
    }
    if (typeof ev.type !== 'string') ev.type = msg.event;
    yield ev;
    if (ev.type === 'done' || ev.type === 'error' || ev.type === 'cancelled') return;
  }
}
