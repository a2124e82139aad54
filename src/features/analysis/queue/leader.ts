// Which tab runs the analysis queue. Every open tab of the app would otherwise load the same
// persisted items and send them to the backend; exactly one tab (the leader) runs the queue and
// the others forward their commands to it (see shared-queue.ts).
//
// - Web Locks (secure contexts: https, localhost): every tab requests one exclusive lock and holds
//   it for its lifetime. The browser grants it to one tab at a time and hands it to the next
//   waiting tab when the holder closes or crashes. No race, no timers.
// - Plain http on a LAN address has no navigator.locks: a lease in localStorage ({ id, until }),
//   renewed by the leader's heartbeat, taken by another tab when it expires (a crashed leader) or
//   is removed (a leader that closed: pagehide). See leaseElection for its race window.
// - Neither BroadcastChannel nor localStorage (very old browsers, storage blocked): nobody to
//   coordinate with is reachable, so the tab runs its own queue, as before.

export const LEADER_LOCK = 'atelier-analysis-queue';
export const LEASE_KEY = 'atelier-analysis-queue.leader';

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
export function lockElection(locks: LockManagerLike, name = LEADER_LOCK): Election {
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
  key?: string;
  /** a lease not renewed for this long is free: how long a crashed leader blocks the queue */
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
 * other's claim (a 'leader' message from the other tab triggers that check at once): the tab with
 * the larger id steps down, the other rewrites its lease. In that window both may send the same items (duplicate
 * backend work) and both write to the queue's store; the library write is idempotent per item
 * key, so no result is applied twice. The same happens when a leader's timers are held back
 * longer than `ttlMs` (a frozen or heavily throttled background tab): another tab takes over, and
 * the old leader steps down at its next heartbeat; activity (every queue change) renews too, so
 * a working leader keeps its lease.
 */
export function leaseElection(opts: LeaseOptions): Election {
  const { storage, id, events } = opts;
  const key = opts.key ?? LEASE_KEY;
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
  locks?: LockManagerLike | undefined;
  storage?: StorageLike | undefined;
  /** whether BroadcastChannel exists (followers need it to reach the leader) */
  channel: boolean;
  events?: PageEventsLike | undefined;
  lease?: Omit<LeaseOptions, 'storage' | 'id' | 'events'>;
}

/** Web Locks where they exist, else the localStorage lease, else this tab alone. */
export function pickElection(env: ElectionEnv): Election {
  if (!env.channel) return soloElection();
  if (env.locks) return lockElection(env.locks);
  if (env.storage) return leaseElection({ ...env.lease, storage: env.storage, id: env.id, ...(env.events ? { events: env.events } : {}) });
  return soloElection();
}
