// Wiring, per tab: every tab records its own library writes in the outbox and shows the sync
// state; one tab, the leader, runs the engine (leadership.ts: a Web Lock, or a localStorage lease
// where navigator.locks is missing, as on plain http to a LAN address; one leader either way).
import { clientId } from '@/lib/db/hlc';
import { setOriginalSource } from '@/lib/db/records';
import { tabChannel } from '@/lib/leader/channel';
import { browserElection } from '@/lib/leader/election';
import { getBlob } from '../api/get-blob';
import { joinSync, SYNC_CHANNEL, SYNC_ELECTION, type EngineLike } from './leadership';
import { touchOriginal } from './original-cache';
import { watchLibrary } from './outbox';
import { createSyncEngine } from './sync-engine';
import { syncSettings } from './sync-settings';
import { createStateStore } from './sync-state';

export const syncState = createStateStore();

/**
 * The engine's first cycle waits this long after the tab takes the lead: the first screen's
 * thumbnails are read from the same IndexedDB that a first sync then fills with its outbox. A
 * change made meanwhile syncs at once (nudge).
 */
export const START_DELAY_MS = 1_500;

/** `engine`, whose start() runs `delayMs` later (a stop() before then starts nothing). */
export function startingLate(engine: EngineLike, delayMs = START_DELAY_MS): EngineLike {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    start() {
      clearTimeout(timer);
      timer = setTimeout(() => engine.start(), delayMs);
    },
    stop() {
      clearTimeout(timer);
      engine.stop();
    },
    nudge: () => engine.nudge(),
  };
}
let retry: () => void = () => {};

/** Sync now (the indicator's Retry). */
export function syncNow(): void {
  retry();
}

export function startSync(): () => void {
  // a record only on the server comes down when something opens it (loupe, export, remix)
  setOriginalSource(async (rec) => (await getBlob(rec.hash, rec.mime).catch(() => undefined)), touchOriginal);
  // The engine polls every few seconds, so followers need no channel to be synced (only to nudge
  // the leader at once and to show its state): the election does not depend on one.
  const tab = joinSync({ election: browserElection(SYNC_ELECTION), engine: startingLate(createSyncEngine(syncState, clientId())), state: syncState, channel: tabChannel(SYNC_CHANNEL) });
  retry = () => tab.nudge();
  const unwatch = watchLibrary(() => tab.nudge());
  const unsubSettings = syncSettings.subscribe(() => tab.nudge());
  return () => {
    tab.close();
    unwatch();
    unsubSettings();
    retry = () => {};
    setOriginalSource(undefined);
  };
}
