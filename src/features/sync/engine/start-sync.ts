// Wiring, per tab: every tab records its own library writes in the outbox and shows the sync
// state; one tab, the leader, runs the engine (leadership.ts: a Web Lock, or a localStorage lease
// where navigator.locks is missing, as on plain http to a LAN address; one leader either way).
import { clientId } from '@/lib/db/hlc';
import { hasRecords, setOriginalSource } from '@/lib/db/records';
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
 * change made meanwhile syncs at once (nudge). A browser whose library is empty (a fresh one,
 * or one whose data was cleared) has no first screen to protect and waits for the server's
 * library: it starts at once.
 */
export const START_DELAY_MS = 1_500;

/** `engine`, whose start() runs `delayMs` later, or at once when `empty()` says the local library
 * is (a stop() before then starts nothing). */
export function startingLate(engine: EngineLike, delayMs = START_DELAY_MS, empty: () => Promise<boolean> = async () => false): EngineLike {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let run = 0;
  return {
    start() {
      clearTimeout(timer);
      const mine = ++run;
      void empty()
        .catch(() => false)
        .then((isEmpty) => {
          if (mine !== run) return; // stopped or restarted meanwhile
          timer = setTimeout(() => engine.start(), isEmpty ? 0 : delayMs);
        });
    },
    stop() {
      run++;
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
  const tab = joinSync({ election: browserElection(SYNC_ELECTION), engine: startingLate(createSyncEngine(syncState, clientId()), START_DELAY_MS, async () => !(await hasRecords())), state: syncState, channel: tabChannel(SYNC_CHANNEL) });
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
