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
type Lane = Pick<EmbedLane, 'wake' | 'stop' | 'hint'>;

export function leadEmbedLane(election: Election, makeLane: () => Lane): { stop: () => void; wake: () => void; hint: (ids: string[]) => void; readonly running: boolean } {
  let lane: Lane | undefined;
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
    hint: (ids) => lane?.hint(ids),
    stop: () => {
      stopped = true;
      off();
      lane?.stop();
      lane = undefined;
      election.close();
    },
  };
}

/**
 * Thumbnails this tab just committed, as the model gets them (data URLs, encoded as they come:
 * while an import runs the lane waits, and a few KB each cost little), kept until the lane has
 * read them (at most `limit`: an import of thousands keeps its first ones, the rest are read back
 * from IndexedDB while the first calls run). A lane that starts after an import sends its first
 * batch without reading or encoding anything.
 */
export class FreshThumbs {
  private readonly map = new Map<string, Promise<string | undefined>>();
  constructor(
    private readonly encode: (thumb: Blob) => Promise<string>,
    private readonly limit = 512,
  ) {}
  add(list: readonly { id: string; thumb: Blob }[]): void {
    for (const { id, thumb } of list)
      if (this.map.size < this.limit || this.map.has(id)) this.map.set(id, this.encode(thumb).catch(() => undefined));
  }
  drop(ids: readonly string[]): void {
    for (const id of ids) this.map.delete(id);
  }
  clear(): void {
    this.map.clear();
  }
  get size(): number {
    return this.map.size;
  }
  /** The images of `ids` as data URLs, each from memory (and forgotten there) or read by `read`
   * and encoded; undefined for an image `read` does not find. */
  async take(ids: string[], read: (ids: string[]) => Promise<(Blob | undefined)[]>): Promise<(string | undefined)[]> {
    const got = await Promise.all(ids.map((id) => this.map.get(id)));
    this.drop(ids);
    const rest = ids.filter((_, i) => got[i] === undefined);
    if (rest.length) {
      const fromStore = await Promise.all((await read(rest)).map((thumb) => (thumb ? this.encode(thumb) : undefined)));
      let j = 0;
      for (let i = 0; i < got.length; i++) if (got[i] === undefined) got[i] = fromStore[j++];
    }
    return got;
  }
}

/** Starts the lane (while this tab leads); returns its wake and stop functions. */
export function startEmbedLane({ hold }: { hold: () => boolean }): { stop: () => void; wake: () => void } {
  const fresh = new FreshThumbs(blobToDataUrl);
  const options: EmbedLaneOptions = {
    model: (fresh) => embeddingModel({ fresh: !!fresh }),
    embed: async (model, images, signal) => (await createEmbeddings({ model, input: images }, signal)).vectors,
    index: vectorIndex(),
    recordIds: async () => (await keys<string>(defaultStores().meta)).map(String),
    // the batch's thumbnails from memory (just added here), the rest in one read (one transaction)
    images: (ids) => fresh.take(ids, getThumbs),
    hold,
  };
  // the lane this tab runs, if it leads: its state says whether thumbnails are worth keeping
  let lane: EmbedLane | undefined;
  let offLane = () => {};
  const led = leadEmbedLane(browserElection(EMBED_ELECTION), () => {
    offLane();
    const made = (lane = new EmbedLane(options));
    offLane = made.subscribe(() => {
      // a pass that ended took every image it was told of, and without a model none will be
      // taken: what is left is not kept
      const state = made.getSnapshot().state;
      if (state === 'idle' || state === 'no-model') fresh.clear();
    });
    return made;
  });
  const offs = [
    // kept only while this tab runs a lane that has a model (another tab's lane reads them from
    // IndexedDB)
    on('thumbs', (list) => led.running && lane?.getSnapshot().state !== 'no-model' && fresh.add(list)),
    on('removed', (ids) => fresh.drop(ids)),
    on('added', (records) => {
      led.hint(records.map((r) => r.id));
      led.wake();
    }),
  ];
  return {
    wake: led.wake,
    stop: () => {
      offs.forEach((off) => off());
      offLane();
      led.stop();
      fresh.clear();
    },
  };
}
