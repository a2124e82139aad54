import type { ImageRecord } from './schema';

// A tiny typed event bus: lib/db writes, the library store (and the analysis queue) listen.
export interface LibraryEvents {
  /** new records were committed (imports and generated images) */
  added: ImageRecord[];
  /** existing records changed (culling, tags, analysis results) */
  updated: ImageRecord[];
  removed: string[];
  /** ids that came in through an import (not generated): the analysis queue's cue */
  imported: string[];
  /** ids of images the generation jobs saved (analysed like imports when the setting says so) */
  generated: string[];
  /** thumbnails this tab just committed with their records (imports, generated and pulled
   * images): the indexing lane takes them from memory instead of reading them back */
  thumbs: { id: string; thumb: Blob }[];
  /** an import started (true) or ended (false) in this tab */
  importing: boolean;
}

type Listener<T> = (payload: T) => void;
const listeners = new Map<keyof LibraryEvents, Set<Listener<never>>>();

export function on<K extends keyof LibraryEvents>(event: K, fn: Listener<LibraryEvents[K]>): () => void {
  let set = listeners.get(event);
  if (!set) listeners.set(event, (set = new Set()));
  set.add(fn as Listener<never>);
  return () => void set.delete(fn as Listener<never>);
}

// 'importing' is a state as well as an event: a feature that loads while an import runs (they load
// after the first paint; an import can start before) asks isImporting() instead of waiting for a
// 'true' it will never hear.
let importingNow = false;
/** Whether an import runs in this tab now. */
export const isImporting = (): boolean => importingNow;

export function emit<K extends keyof LibraryEvents>(event: K, payload: LibraryEvents[K]): void {
  if (event === 'importing') importingNow = payload as boolean;
  const set = listeners.get(event) as Set<Listener<LibraryEvents[K]>> | undefined;
  set?.forEach((fn) => {
    try {
      fn(payload);
    } catch (err) {
      console.error(`library event listener for "${event}" failed`, err);
    }
  });
}
