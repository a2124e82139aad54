// Which tab runs a piece of background work that must run once per browser, not once per tab:
// the analysis queue (features/analysis/queue/shared-queue.ts), the sync engine
// (features/sync/engine/start-sync.ts), the embeddings indexing lane and the perceptual-hash
// backfill. Each job has its own election (`ElectionNames`: a lock name and a lease key), so
// their leaders may be different tabs.
//
// - Web Locks (secure contexts: https, localhost): every tab requests one exclusive lock and holds
//   it for its lifetime. The browser grants it to one tab at a time and hands it to the next
//   waiting tab when the holder closes or crashes. No race, no timers.
// - Plain http on a LAN address has no navigator.locks: a lease in localStorage ({ id, until }),
//   renewed by the leader's heartbeat, taken by another tab when it expires (a crashed leader) or
//   is removed (a leader that closed: pagehide). See leaseElection for its race window.
// - No localStorage either (storage blocked), or no BroadcastChannel for a job whose followers
//   talk to the leader (very old browsers): nobody to coordinate with is reachable, so the tab
//   runs the work itself.
import { browserStorage } from '@/lib/browser-storage';

/** What one job's election is called: its Web Lock, and its lease's localStorage key. */
export interface ElectionNames {
  lock: string;
  leaseKey: string;
}

export interface Election {
  readonly kind: 'locks' | 'lease' | 'solo';
  /** true while this tab is the leader */
  readonly leader: boolean;
  /** called whenever `leader` changes */
  onChange(fn: (leader: boolean) => void): () => void;
  /** check now rather than at the next heartbeat (another tab said it left); renews a held lease */
  poke(): void;
  /** stop competing and give leadership up (without telling listeners: the caller is leaving) */
  close(): void;
}

/** The part of navigator.locks used here (injected in tests). */
export interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown>;
}

/** The part of localStorage used here. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** window, for pagehide/pageshow (the lease is released when the page goes away). */
export interface PageEventsLike {
  addEventListener(type: 'pagehide' | 'pageshow', fn: (ev: { persisted?: boolean }) => void): void;
  removeEventListener(type: 'pagehide' | 'pageshow', fn: (ev: { persisted?: boolean }) => void): void;
}

function listeners() {
  const fns = new Set<(leader: boolean) => void>();
  return {
    add(fn: (leader: boolean) => void) {
      fns.add(fn);
      return () => void fns.delete(fn);
    },
    emit(leader: boolean) {
      for (const fn of [...fns]) fn(leader);
    },
  };
}

/** Leadership = holding the exclusive Web Lock; the browser releases it when the tab goes away. */
export function lockElection(locks: LockManagerLike, name: string): Election {
  const fns = listeners();
  const ctrl = new AbortController();
  let leader = false;
  let closed = false;
  let release: (() => void) | undefined;
  locks
    .request(name, { signal: ctrl.signal }, () => {
      if (closed) return Promise.resolve();
      leader = true;
      fns.emit(true);
      // Held until close(), or until the page is gone.
      return new Promise<void>((resolve) => (release = resolve));
    })
    .catch(() => undefined); // AbortError: closed while still waiting
  return {
    kind: 'locks',
    get leader() {
      return leader;
    },
    onChange: fns.add,
    poke() {},
    close() {
      closed = true;
      leader = false;
      ctrl.abort();
      release?.();
    },
  };
}

export interface LeaseOptions {
  storage: StorageLike;
  /** this tab */
  id: string;
  /** the localStorage key of the lease */
  key: string;
  /** a lease not renewed for this long is free: how long a crashed leader blocks the work */
  ttlMs?: number;
  /** how often the leader renews, and followers look */
  heartbeatMs?: number;
  /** after writing a claim, wait this long and read it back before leading */
  settleMs?: number;
  events?: PageEventsLike;
  now?: () => number;
}

interface Lease {
  id: string;
  until: number;
}

/**
 * Leadership = the lease in localStorage, for insecure contexts (no navigator.locks).
 *
 * A follower that finds the lease free or expired writes its own claim, waits `settleMs`, reads
 * it back and leads if it still names this tab (last writer wins). The leader renews it every
 * heartbeat, and on every heartbeat checks that the lease still names it; if another tab's valid
 * lease is there it steps down.
 *
 * Race window (small, and only here): localStorage is not transactional across tabs. In Chromium
 * each renderer keeps a copy of the storage area and other tabs' writes reach it asynchronously,
 * so two tabs that both find the lease free at the same moment can each read back their own claim
 * if propagation is slower than `settleMs`. Both then lead until a heartbeat shows each the
 * other's claim (`poke()`, e.g. on a 'leader' message from the other tab, checks at once): the
 * tab with the larger id steps down, the other rewrites its lease. In that window both run the
 * work, so every job elected here must stand being run twice for a moment: the analysis queue's
 * library write is idempotent per item key, sync's pushes are idempotent and its merges
 * commutative, the lane and the backfill write the same vectors and hashes. The same happens when
 * a leader's timers are held back longer than `ttlMs` (a frozen or heavily throttled background
 * tab): another tab takes over, and the old leader steps down at its next heartbeat; activity
 * (`poke()`, on every queue change) renews too, so a working leader keeps its lease.
 */
export function leaseElection(opts: LeaseOptions): Election {
  const { storage, id, events } = opts;
  const key = opts.key;
  const ttl = opts.ttlMs ?? 5_000;
  const heartbeat = opts.heartbeatMs ?? 1_000;
  const settle = opts.settleMs ?? 150;
  const now = opts.now ?? Date.now;
  const fns = listeners();
  let leader = false;
  let closed = false;
  let hidden = false;
  let lastWrite = 0;
  let confirmTimer: ReturnType<typeof setTimeout> | undefined;

  const read = (): Lease | undefined => {
    try {
      const v = JSON.parse(storage.getItem(key) ?? 'null') as Partial<Lease> | null;
      return v && typeof v.id === 'string' && typeof v.until === 'number' ? { id: v.id, until: v.until } : undefined;
    } catch {
      return undefined;
    }
  };
  const write = () => {
    lastWrite = now();
    try {
      storage.setItem(key, JSON.stringify({ id, until: lastWrite + ttl }));
    } catch {
      // quota: the lease cannot be renewed; another tab will take over when it expires
    }
  };
  const set = (value: boolean) => {
    if (leader === value) return;
    leader = value;
    fns.emit(value);
  };

  const tick = () => {
    if (closed || hidden) return;
    const cur = read();
    const heldByOther = !!cur && cur.id !== id && cur.until > now();
    if (leader) {
      if (heldByOther) {
        // Our own lease lapsed (frozen timers): the other tab took over rightly; yield. Otherwise
        // both claimed at once (the race above) and each sees the other's claim: the smaller id
        // keeps it, so the two cannot both step down and start over.
        if (now() - lastWrite > ttl || cur.id < id) set(false);
        else write();
      }
      // (renewals closer than half a heartbeat are skipped: pokes come with every queue change)
      else if (now() - lastWrite >= heartbeat / 2) write();
      return;
    }
    if (heldByOther || confirmTimer) return;
    write();
    confirmTimer = setTimeout(() => {
      confirmTimer = undefined;
      if (closed || hidden) return;
      if (read()?.id === id) {
        write();
        set(true);
      }
    }, settle);
  };

  const release = () => {
    clearTimeout(confirmTimer);
    confirmTimer = undefined;
    try {
      if (read()?.id === id) storage.removeItem(key);
    } catch {
      // nothing to release
    }
  };

  const onHide = () => {
    // Leaving (or entering the back/forward cache): let the next tab take over now, not after ttl.
    hidden = true;
    release();
    set(false);
  };
  const onShow = (ev: { persisted?: boolean }) => {
    if (!ev.persisted) return;
    hidden = false;
    tick();
  };
  events?.addEventListener('pagehide', onHide);
  events?.addEventListener('pageshow', onShow);
  const interval = setInterval(tick, heartbeat);
  tick();

  return {
    kind: 'lease',
    get leader() {
      return leader;
    },
    onChange: fns.add,
    poke: tick,
    close() {
      closed = true;
      clearInterval(interval);
      events?.removeEventListener('pagehide', onHide);
      events?.removeEventListener('pageshow', onShow);
      release();
      leader = false;
    },
  };
}

/** This tab alone: it always leads. */
export function soloElection(): Election {
  return {
    kind: 'solo',
    leader: true,
    onChange: () => () => undefined,
    poke() {},
    close() {},
  };
}

export interface ElectionEnv {
  id: string;
  names: ElectionNames;
  locks?: LockManagerLike | undefined;
  storage?: StorageLike | undefined;
  /**
   * false where followers could not reach the leader (no BroadcastChannel, for a job whose
   * followers forward work to it): each tab then runs the work itself
   */
  channel: boolean;
  events?: PageEventsLike | undefined;
  lease?: Omit<LeaseOptions, 'storage' | 'id' | 'key' | 'events'>;
}

/** Web Locks where they exist, else the localStorage lease, else this tab alone. */
export function pickElection(env: ElectionEnv): Election {
  if (!env.channel) return soloElection();
  if (env.locks) return lockElection(env.locks, env.names.lock);
  if (env.storage) return leaseElection({ ...env.lease, storage: env.storage, id: env.id, key: env.names.leaseKey, ...(env.events ? { events: env.events } : {}) });
  return soloElection();
}

/** A new id for this tab: the lease's tie-break compares them, so they only need to differ. */
export function newTabId(): string {
  return `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * This tab's election for one job, from the browser itself: navigator.locks (secure contexts
 * only: https, localhost; not http://192.168...), localStorage, pagehide/pageshow.
 * `needsChannel`: the job's followers talk to the leader over a BroadcastChannel, so without one
 * every tab runs the job itself.
 */
export function browserElection(names: ElectionNames, opts: { id?: string; needsChannel?: boolean } = {}): Election {
  return pickElection({
    id: opts.id ?? newTabId(),
    names,
    locks: typeof navigator === 'undefined' ? undefined : (navigator as { locks?: LockManagerLike }).locks,
    storage: browserStorage(),
    channel: !opts.needsChannel || typeof BroadcastChannel !== 'undefined',
    events: typeof window === 'undefined' ? undefined : (window as PageEventsLike),
  });
}
