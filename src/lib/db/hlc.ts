// Hybrid logical clock (Kulkarni et al., 2014): a stamp is wall-clock milliseconds, a counter that
// orders events within one millisecond (or while the wall clock stands behind a stamp already
// seen), and the client id that breaks the last tie. Stamps are fixed-width strings, so "later" is
// plain string comparison, here, in IndexedDB and in the server's database alike:
//
//   000001767225600000-000000-<client id>
//
// Every field a write changes is stamped (./fields.ts); sync merges per field by the stamp
// (last writer wins), and receiving a stamp from the server moves this clock past it, so an edit
// made after seeing another device's edit always wins over it, whatever the two wall clocks say.

import { browserStorage } from '@/lib/browser-storage';

const MS_WIDTH = 15;
const COUNTER_WIDTH = 6;
const STAMP = /^(\d{15})-(\d{6})-([A-Za-z0-9_-]{1,64})$/;

/** The oldest stamp: a field that was never stamped (records written before stamps existed). */
export const ZERO_STAMP = '000000000000000-000000-0';

export interface Hlc {
  /** A new stamp, later than every stamp this clock made or received. */
  now(): string;
  /** Moves the clock past a stamp from elsewhere (a pulled change). Ignores malformed stamps. */
  receive(stamp: string): void;
  readonly clientId: string;
}

export function formatStamp(ms: number, counter: number, clientId: string): string {
  return `${String(ms).padStart(MS_WIDTH, '0')}-${String(counter).padStart(COUNTER_WIDTH, '0')}-${clientId}`;
}

export function parseStamp(stamp: string): { ms: number; counter: number; clientId: string } | null {
  const m = STAMP.exec(stamp);
  return m ? { ms: Number(m[1]), counter: Number(m[2]), clientId: m[3]! } : null;
}

export function createHlc(clientId: string, wall: () => number = Date.now): Hlc {
  let ms = 0;
  let counter = 0;
  return {
    clientId,
    now() {
      const t = wall();
      if (t > ms) {
        ms = t;
        counter = 0;
      } else counter++;
      return formatStamp(ms, counter, clientId);
    },
    receive(stamp) {
      const p = parseStamp(stamp);
      if (!p) return;
      if (p.ms > ms) {
        ms = p.ms;
        counter = p.counter;
      } else if (p.ms === ms && p.counter > counter) counter = p.counter;
    },
  };
}

const CLIENT_KEY = 'atelier.clientId';

/** This browser profile's id (kept in localStorage; a fresh random one where that is unavailable). */
export function clientId(): string {
  const make = () => Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
  try {
    const ls = browserStorage();
    const have = ls?.getItem(CLIENT_KEY);
    if (have && /^[0-9a-f]{16}$/.test(have)) return have;
    const id = make();
    ls?.setItem(CLIENT_KEY, id);
    return id;
  } catch {
    return make();
  }
}

let shared: Hlc | undefined;
/** The clock every library write of this page stamps with. */
export function hlc(): Hlc {
  shared ??= createHlc(clientId());
  return shared;
}
