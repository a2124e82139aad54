import { createStore, get, set, type UseStore } from 'idb-keyval';
import type { ImageRecord } from './schema';

// The first screen of the default view (newest first), kept as ONE value. Reading 50k records
// one by one takes seconds in Chromium; this paints the grid at once while the rest streams in.
// It is a cache only: the full load replaces it, and a stale head costs a reshuffle, never data.
export const HEAD_SIZE = 400;

let store: UseStore | undefined;
const headStore = () => (store ??= createStore('atelier-head', 'head'));

export interface Head {
  records: ImageRecord[];
  total: number;
}

export async function loadHead(): Promise<Head | undefined> {
  try {
    return await get<Head>('head', headStore());
  } catch {
    return undefined;
  }
}

let timer: ReturnType<typeof setTimeout> | undefined;
/** Debounced: the latest head wins. */
export function saveHead(records: ImageRecord[], total: number, delay = 1500) {
  clearTimeout(timer);
  timer = setTimeout(() => void set('head', { records: records.slice(0, HEAD_SIZE), total } satisfies Head, headStore()).catch(() => {}), delay);
}
