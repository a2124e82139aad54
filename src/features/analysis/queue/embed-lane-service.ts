// The indexing lane as the app runs it: the backend's embeddings model, the search worker, the
// library's thumbnails; in one tab at a time, the leader of EMBED_ELECTION (lib/leader/election.ts:
// a Web Lock, or a localStorage lease where navigator.locks is missing). A tab that stops leading
// (its lease lapsed) stops its lane; the one that takes over starts a fresh lane, whose work
// follows from the store.
import { keys } from 'idb-keyval';
import { blobToDataUrl, createEmbeddings } from '@/lib/api';
import { on } from '@/lib/db/events';
import { getThumbs } from '@/lib/db/records';
import { defaultStores } from '@/lib/db/stores';
import { browserElection, type Election, type ElectionNames } from '@/lib/leader/election';
import { embeddingModel } from '@/lib/vectors/embedding-model';
import { vectorIndex } from '@/lib/vectors/client';
import { EmbedLane, type EmbedLaneOptions } from './embed-lane';

export const EMBED_ELECTION: ElectionNames = { lock: 'atelier-embed-lane', leaseKey: 'atelier-embed-lane.leader' };

/** The lane while this tab leads `election`; returns its wake and stop functions. */
export function leadEmbedLane(election: Election, makeLane: () => Pick<EmbedLane, 'wake' | 'stop'>): { stop: () => void; wake: () => void; readonly running: boolean } {
  let lane: Pick<EmbedLane, 'wake' | 'stop'> | undefined;
  let stopped = false;
  const follow = (leads: boolean) => {
    if (stopped || leads === !!lane) return;
    if (leads) {
      lane = makeLane();
      lane.wake();
    } else {
      lane?.stop();
      lane = undefined;
    }
  };
  const off = election.onChange(follow);
  follow(election.leader);
  return {
    get running() {
      return !!lane;
    },
    wake: () => lane?.wake(),
    stop: () => {
      stopped = true;
      off();
      lane?.stop();
      lane = undefined;
      election.close();
    },
  };
}

/** Starts the lane (while this tab leads); returns its wake and stop functions. */
export function startEmbedLane({ hold }: { hold: () => boolean }): { stop: () => void; wake: () => void } {
  const options: EmbedLaneOptions = {
    model: (fresh) => embeddingModel({ fresh: !!fresh }),
    embed: async (model, images, signal) => (await createEmbeddings({ model, input: images }, signal)).vectors,
    index: vectorIndex(),
    recordIds: async () => (await keys<string>(defaultStores().meta)).map(String),
    // one read (one transaction) for the batch's thumbnails
    images: async (ids) => Promise.all((await getThumbs(ids)).map((thumb) => (thumb ? blobToDataUrl(thumb) : undefined))),
    hold,
  };
  const led = leadEmbedLane(browserElection(EMBED_ELECTION), () => new EmbedLane(options));
  const off = on('added', led.wake);
  return {
    wake: led.wake,
    stop: () => {
      off();
      led.stop();
    },
  };
}
