// Wiring, per tab: every tab records its own library writes in the outbox and shows the sync
// state; one tab, the leader, runs the engine. Leadership is a Web Lock held for the tab's life
// (the browser hands it to the next tab when the leader closes or crashes), as the analysis
// queue does; without navigator.locks (plain http on a LAN address) every tab runs its own
// engine, which is safe: pushes are idempotent and merges commutative, only some work is doubled.
import { clientId } from '@/lib/db/hlc';
import { setOriginalSource } from '@/lib/db/records';
import { getBlob } from '../api/get-blob';
import { touchOriginal } from './original-cache';
import { watchLibrary } from './outbox';
import { createSyncEngine } from './sync-engine';
import { syncSettings } from './sync-settings';
import { createStateStore, type SyncState } from './sync-state';

export const LEADER_LOCK = 'atelier-sync-leader';
/**
 * The engine's first cycle waits this long after the page starts it: the first screen's
 * thumbnails are read from the same IndexedDB that a first sync then fills with its outbox (one
 * transaction of every record). A change made meanwhile syncs at once (nudge).
 */
export const START_DELAY_MS = 1_500;
const CHANNEL = 'atelier-sync';

export const syncState = createStateStore();
let nudgeLeader: () => void = () => {};
let retry: () => void = () => {};

/** Sync now (the indicator's Retry). */
export function syncNow(): void {
  retry();
}

type Message = { kind: 'nudge' } | { kind: 'state'; state: SyncState };

export function startSync(): () => void {
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL) : null;
  const engine = createSyncEngine(syncState, clientId());
  let leader = false;
  const post = (m: Message) => channel?.postMessage(m);

  // a record only on the server comes down when something opens it (loupe, export, remix)
  setOriginalSource(async (rec) => (await getBlob(rec.hash, rec.mime).catch(() => undefined)), touchOriginal);

  nudgeLeader = () => (leader ? engine.nudge() : post({ kind: 'nudge' }));
  retry = nudgeLeader;
  const unwatch = watchLibrary(() => nudgeLeader());
  if (channel) {
    channel.onmessage = (ev: MessageEvent<Message>) => {
      if (ev.data.kind === 'nudge' && leader) engine.nudge();
      if (ev.data.kind === 'state' && !leader) syncState.set(ev.data.state);
    };
  }
  const unsubState = syncState.subscribe(() => leader && post({ kind: 'state', state: syncState.get() }));
  const unsubSettings = syncSettings.subscribe(() => (leader ? engine.nudge() : post({ kind: 'nudge' })));

  const release = new AbortController();
  let startTimer: ReturnType<typeof setTimeout> | undefined;
  const lead = () => {
    leader = true;
    startTimer = setTimeout(() => engine.start(), START_DELAY_MS);
  };
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (locks) {
    void locks
      .request(LEADER_LOCK, { signal: release.signal }, () => {
        lead();
        return new Promise<void>((resolve) => release.signal.addEventListener('abort', () => resolve()));
      })
      .catch(() => undefined);
  } else lead();

  return () => {
    clearTimeout(startTimer);
    engine.stop();
    release.abort();
    unwatch();
    unsubState();
    unsubSettings();
    channel?.close();
    setOriginalSource(undefined);
  };
}
