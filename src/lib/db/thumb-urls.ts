import { getThumbs } from './records';

// Object URLs for thumbnails, reference counted. A cell acquires its URL when it mounts and
// releases it when its row leaves the window; released URLs wait in a small LRU (scrolling
// back is instant) and are revoked when they fall out, so memory stays bounded however far
// the user scrolls. Reads are batched: one getMany per animation frame.
//
// During a fling faster than the machine can read, decode and draw thumbnails, reads wait:
// cells that only fly past never cost a read, and the ones the scroll stops on load at once.

const LRU_SIZE = 400;
/** new cells per second above which thumbnail reads wait for the scroll to slow */
export const MAX_CELL_RATE = 300;
/** how long after the last too-fast scroll step the reads resume */
const SETTLE_MS = 90;
let holdUntil = 0;
const now = () => globalThis.performance?.now() ?? Date.now();
const raf = (f: () => void) => (globalThis.requestAnimationFrame ?? ((g: () => void) => setTimeout(g, 16)))(f);

interface Entry {
  url: string;
  refs: number;
}

const entries = new Map<string, Entry>();
/** ids with refs === 0, oldest first */
const idle = new Map<string, true>();
const waiting = new Map<string, ((url: string | null) => void)[]>();
let scheduled = false;

function flush() {
  const hold = holdUntil - now();
  if (hold > 0) {
    setTimeout(() => raf(flush), hold);
    return;
  }
  scheduled = false;
  const ids = [...waiting.keys()];
  if (ids.length === 0) return;
  const cbs = ids.map((id) => waiting.get(id)!);
  waiting.clear();
  getThumbs(ids).then(
    (blobs) => {
      ids.forEach((id, i) => {
        const blob = blobs[i];
        let url: string | null = null;
        if (blob) {
          const existing = entries.get(id);
          if (existing) url = existing.url;
          else {
            url = URL.createObjectURL(blob);
            entries.set(id, { url, refs: 0 });
            idle.set(id, true);
          }
        }
        cbs[i]!.forEach((cb) => cb(url));
      });
      trim();
    },
    () => cbs.forEach((list) => list.forEach((cb) => cb(null))),
  );
}

function trim() {
  while (idle.size > LRU_SIZE) {
    const id = idle.keys().next().value as string;
    idle.delete(id);
    const e = entries.get(id);
    if (e && e.refs === 0) {
      URL.revokeObjectURL(e.url);
      entries.delete(id);
    }
  }
}

/** The URL if it is ready now (no flash of placeholder when scrolling back). */
export function peekThumbUrl(id: string): string | null {
  return entries.get(id)?.url ?? null;
}

/** Takes a reference on the thumbnail URL; call the returned function to release it. */
export function acquireThumbUrl(id: string, onUrl: (url: string | null) => void): () => void {
  let released = false;
  const take = (url: string | null) => {
    if (released) return;
    const e = entries.get(id);
    if (url && e) {
      e.refs++;
      idle.delete(id);
    }
    onUrl(url);
  };
  if (entries.has(id)) take(entries.get(id)!.url);
  else {
    const list = waiting.get(id) ?? [];
    list.push(take);
    waiting.set(id, list);
    if (!scheduled) {
      scheduled = true;
      raf(flush);
    }
  }
  return () => {
    if (released) return;
    released = true;
    // Gone before its read: skip the read.
    const list = waiting.get(id);
    if (list) {
      const rest = list.filter((cb) => cb !== take);
      if (rest.length) waiting.set(id, rest);
      else waiting.delete(id);
    }
    const e = entries.get(id);
    if (e && e.refs > 0) {
      e.refs--;
      if (e.refs === 0) {
        idle.delete(id);
        idle.set(id, true);
        trim();
      }
    }
  };
}

/** The grid reports how fast cells come into view while it scrolls (cells per second). */
export function noteCellRate(cellsPerSecond: number) {
  if (cellsPerSecond > MAX_CELL_RATE) holdUntil = now() + SETTLE_MS;
}

/** Drops cached URLs of deleted images. */
export function forgetThumbs(ids: string[]) {
  for (const id of ids) {
    const e = entries.get(id);
    if (e) URL.revokeObjectURL(e.url);
    entries.delete(id);
    idle.delete(id);
  }
}

/** For the benchmark and tests: how many object URLs are alive. */
export const liveThumbUrls = () => entries.size;
