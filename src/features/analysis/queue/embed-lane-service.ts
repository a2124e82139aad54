// The indexing lane as the app runs it: the backend's embeddings model, the search worker, the
// library's thumbnails; in one tab at a time (a Web Lock held for the tab's life).
import { keys } from 'idb-keyval';
import { blobToDataUrl, createEmbeddings } from '@/lib/api';
import { on } from '@/lib/db/events';
import { getThumbs } from '@/lib/db/records';
import { defaultStores } from '@/lib/db/stores';
import { embeddingModel } from '@/lib/vectors/embedding-model';
import { vectorIndex } from '@/lib/vectors/client';
import { EmbedLane } from './embed-lane';

const LOCK = 'atelier-embed-lane';

/** Starts the lane (where this tab gets the lock); returns its wake and stop functions. */
export function startEmbedLane({ hold }: { hold: () => boolean }): { stop: () => void; wake: () => void; lane: EmbedLane } {
  const lane = new EmbedLane({
    model: (fresh) => embeddingModel({ fresh: !!fresh }),
    embed: async (model, images, signal) => (await createEmbeddings({ model, input: images }, signal)).vectors,
    index: vectorIndex(),
    recordIds: async () => (await keys<string>(defaultStores().meta)).map(String),
    // one read (one transaction) for the batch's thumbnails
    images: async (ids) => Promise.all((await getThumbs(ids)).map((thumb) => (thumb ? blobToDataUrl(thumb) : undefined))),
    hold,
  });
  let release: (() => void) | undefined;
  let stopped = false;
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  // only the tab holding the lock runs the lane (without Web Locks, every tab may)
  let held = !locks;
  const wake = () => held && lane.wake();
  const offs = [on('added', wake)];
  if (locks) {
    void locks.request(LOCK, () => {
      if (stopped) return undefined;
      held = true;
      lane.wake();
      return new Promise<void>((r) => (release = r));
    });
  } else lane.wake();
  return {
    lane,
    wake,
    stop: () => {
      stopped = true;
      lane.stop();
      release?.();
      offs.forEach((off) => off());
    },
  };
}
