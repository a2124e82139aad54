// How the tabs of one elected job talk: a BroadcastChannel, reduced to what the jobs use (a fake
// in tests: src/test/tab-fakes.ts). Like a BroadcastChannel it never delivers to its sender.
export interface ChannelLike {
  post(msg: unknown): void;
  listen(fn: (msg: unknown) => void): void;
  close(): void;
}

export function broadcastChannel(name: string): ChannelLike {
  const bc = new BroadcastChannel(name);
  return {
    post: (msg) => bc.postMessage(msg),
    listen: (fn) => {
      bc.onmessage = (ev: MessageEvent) => fn(ev.data);
    },
    close: () => bc.close(),
  };
}

/** A channel named `name`, or null where BroadcastChannel does not exist. */
export function tabChannel(name: string): ChannelLike | null {
  return typeof BroadcastChannel === 'function' ? broadcastChannel(name) : null;
}
