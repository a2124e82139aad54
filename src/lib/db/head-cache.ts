import { createStore, get, set, type UseStore } from 'idb-keyval';
import type { ImageRecord } from './schema';
import { readRecord } from './stored';

// The first screen of the unfiltered view in the user's sort order, kept as ONE value. Reading 50k records
// one by one takes seconds in Chromium; this paints the grid at once while the rest streams in.
// It is a cache only: the full load replaces it, and a stale head costs a reshuffle, never data.
export const HEAD_SIZE = 400;

let store: UseStore | undefined;
const headStore = () => (store ??= createStore('atelier-head', 'head'));

export interface Head {
  records: ImageRecord[];
  total: number;
  /** the sort the records are in (absent in heads written before the sort was remembered: date added, newest first) */
  sort?: string;
  desc?: boolean;
}

export async function loadHead(): Promise<Head | undefined> {
  try {
    const head = await get<Head>('head', headStore());
    // records cached by an earlier version are read like stored ones
    return head && { ...head, records: head.records.map(readRecord) };
  } catch {
    return undefined;
  }
}

let timer: ReturnType<typeof setTimeout> | undefined;
/** Debounced: the latest head wins. */
export function saveHead(records: ImageRecord[], total: number, delay = 1500, order: { sort: string; desc: boolean } = { sort: 'added', desc: true }) {
  clearTimeout(timer);
  timer = setTimeout(() => void set('head', { records: records.slice(0, HEAD_SIZE), total, ...order } satisfies Head, headStore()).catch(() => {}), delay);
}
