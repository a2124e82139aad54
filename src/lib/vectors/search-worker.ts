/// <reference lib="webworker" />
// The search worker: vector storage and brute-force search off the main thread (worker-core.ts).
import { createCore } from './worker-core';
import { NEWS_CHANNEL, type Envelope, type Reply, type VectorNews } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(NEWS_CHANNEL);
const core = createCore({ announce: (news) => channel?.postMessage(news) });
if (channel) channel.onmessage = (e: MessageEvent<VectorNews>) => void core.hear(e.data);

self.onmessage = (e: MessageEvent<Envelope>) => {
  const { seq, req } = e.data;
  core.handle(req).then(
    (value) => self.postMessage({ seq, ok: true, value } satisfies Reply),
    (err: unknown) => self.postMessage({ seq, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
  );
};
