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
}

type Listener<T> = (payload: T) => void;
const listeners: { [K in keyof LibraryEvents]?: Set<Listener<LibraryEvents[K]>> } = {};

export function on<K extends keyof LibraryEvents>(event: K, fn: Listener<LibraryEvents[K]>): () => void {
  const set = (listeners[event] ??= new Set()) as Set<Listener<LibraryEvents[K]>>;
  set.add(fn);
  return () => set.delete(fn);
}

export function emit<K extends keyof LibraryEvents>(event: K, payload: LibraryEvents[K]): void {
  const set = listeners[event] as Set<Listener<LibraryEvents[K]>> | undefined;
  set?.forEach((fn) => {
    try {
      fn(payload);
    } catch (err) {
      console.error(`library event listener for "${event}" failed`, err);
    }
  });
}
