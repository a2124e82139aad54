// Whether the orphan sweep (records.ts sweepOrphans) is worth running at start-up. It reads every
// key of three stores: at 100k images, tens of ms of the main thread right when the user starts to
// scroll. Blobs without their record exist only where a page died between putImages' blob writes
// and its meta write, so each tab marks its blob writes in localStorage (one key per tab: set
// before the first blob, removed after the meta write). A marker still there at start-up means a
// write was cut short (or runs now in another tab): sweep. Otherwise sweep once a week anyway, as
// a safety net for a marker that could not be written.

import { browserStorage } from '@/lib/browser-storage';

export interface MarkerStorage {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const PREFIX = 'atelier.blobWrites.';
const LAST_SWEEP = 'atelier.lastSweep';
export const SWEEP_EVERY_MS = 7 * 24 * 3600 * 1000;

export function sweepMarker(storage: MarkerStorage | undefined = browserStorage(), tab = Math.random().toString(36).slice(2), now: () => number = Date.now) {
  const own = PREFIX + tab;
  let open = 0;
  const markers = (): { key: string; at: number }[] => {
    const out: { key: string; at: number }[] = [];
    for (let i = 0; i < (storage?.length ?? 0); i++) {
      const key = storage!.key(i);
      if (key?.startsWith(PREFIX)) out.push({ key, at: Number(storage!.getItem(key)) || 0 });
    }
    return out;
  };
  const safely = (f: () => void) => {
    try {
      f();
    } catch {
      // a full or blocked localStorage: the weekly sweep covers what a marker would have
    }
  };
  return {
    /** before the first blob of a commit is written */
    begin(): void {
      if (open++ === 0) safely(() => storage?.setItem(own, String(now())));
    },
    /** after the commit's meta write (or its clean-up) */
    end(): void {
      if (open > 0 && --open === 0) safely(() => storage?.removeItem(own));
    },
    /** a write may have been cut short, the last sweep is old, or nothing can be known */
    needed(): boolean {
      if (!storage) return true;
      try {
        if (markers().length > 0) return true;
        const last = Number(storage.getItem(LAST_SWEEP));
        return !(last > 0 && now() - last < SWEEP_EVERY_MS);
      } catch {
        return true;
      }
    },
    /** a sweep that started at `startedAt` finished: markers set before it are settled */
    swept(startedAt: number): void {
      safely(() => {
        for (const m of markers()) if (m.at < startedAt && !(m.key === own && open > 0)) storage?.removeItem(m.key);
        storage?.setItem(LAST_SWEEP, String(now()));
      });
    },
  };
}

export type SweepMarker = ReturnType<typeof sweepMarker>;

let shared: SweepMarker | undefined;
export const blobWrites = () => (shared ??= sweepMarker());
