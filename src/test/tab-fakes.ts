// Test doubles for what tabs share in a browser: Web Locks, a BroadcastChannel, localStorage.
// (Used by lib/leader/election.test.ts and the tests of the jobs it elects; not part of the app.)
import type { LockManagerLike, StorageLike } from '@/lib/leader/election';
import type { ChannelLike } from '@/lib/leader/channel';

/** One origin's lock manager: an exclusive lock granted in request order; crash() frees a tab's. */
export class FakeLocks {
  holder: string | undefined;
  private release: (() => void) | undefined;
  private waiting: { tab: string; start: () => void; cancel: () => void }[] = [];

  manager(tab: string): LockManagerLike {
    return {
      request: (name, options, callback) =>
        new Promise((resolve, reject) => {
          const entry = {
            tab,
            start: () => {
              let done = false;
              const release = () => {
                if (done) return;
                done = true;
                this.holder = undefined;
                this.release = undefined;
                this.grant();
              };
              this.holder = tab;
              this.release = release;
              callback({ name, mode: 'exclusive' }).then(
                (v) => (release(), resolve(v)),
                (e: unknown) => (release(), reject(e)),
              );
            },
            cancel: () => reject(new DOMException('The request was aborted.', 'AbortError')),
          };
          options.signal?.addEventListener('abort', () => {
            const i = this.waiting.indexOf(entry);
            if (i < 0) return;
            this.waiting.splice(i, 1);
            entry.cancel();
          });
          this.waiting.push(entry);
          setTimeout(() => this.grant(), 0);
        }),
    };
  }

  /** The tab is gone: the browser frees its lock and forgets its requests. */
  crash(tab: string): void {
    this.waiting = this.waiting.filter((e) => e.tab !== tab);
    if (this.holder === tab) this.release?.();
  }

  private grant(): void {
    if (this.holder || this.waiting.length === 0) return;
    const next = this.waiting.shift()!;
    // Reserved for it until its callback runs (asynchronously, as in a browser).
    let cancelled = false;
    this.holder = next.tab;
    this.release = () => {
      cancelled = true;
      this.holder = undefined;
      this.release = undefined;
      this.grant();
    };
    setTimeout(() => {
      if (!cancelled) next.start();
    }, 0);
  }
}

interface Member {
  tab: string;
  fn: ((msg: unknown) => void) | undefined;
}

/** A BroadcastChannel between fake tabs: structured-cloned, asynchronous, never to the sender. */
export class FakeHub {
  private members = new Set<Member>();
  /** every message posted, in order */
  readonly log: { from: string; msg: Record<string, unknown> }[] = [];
  /** return true to lose a message on its way to `to` */
  drop: ((msg: Record<string, unknown>, from: string, to: string) => boolean) | undefined;

  channel(tab: string): ChannelLike {
    const me: Member = { tab, fn: undefined };
    this.members.add(me);
    return {
      post: (msg) => {
        if (!this.members.has(me)) throw new DOMException('closed', 'InvalidStateError');
        const data = structuredClone(msg) as Record<string, unknown>;
        this.log.push({ from: tab, msg: data });
        for (const other of this.members) {
          if (other === me) continue;
          setTimeout(() => {
            if (!this.members.has(other) || this.drop?.(data, tab, other.tab)) return;
            other.fn?.(structuredClone(data));
          }, 0);
        }
      },
      listen: (fn) => {
        me.fn = fn;
      },
      close: () => void this.members.delete(me),
    };
  }
}

/** localStorage shared by the fake tabs (synchronously consistent, unlike the real one). */
export function fakeStorage(map = new Map<string, string>()): StorageLike & { map: Map<string, string> } {
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  };
}

/** Polls until `cond` holds (real timers; the fakes work in milliseconds). */
export async function until(cond: () => boolean, what = 'condition', timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * localStorage as Chromium has it: each tab reads its own copy, and another tab's write reaches
 * it `lagMs` later. tab(id) gives that tab's view.
 */
export function laggyStorage(lagMs: number) {
  const views = new Map<string, Map<string, string>>();
  const view = (id: string) => {
    let v = views.get(id);
    if (!v) views.set(id, (v = new Map()));
    return v;
  };
  const spread = (from: string, apply: (m: Map<string, string>) => void) => {
    apply(view(from));
    for (const [id, m] of views) if (id !== from) setTimeout(() => apply(m), lagMs);
  };
  return {
    tab: (id: string): StorageLike => {
      view(id);
      return {
        getItem: (k) => view(id).get(k) ?? null,
        setItem: (k, v) => spread(id, (m) => m.set(k, v)),
        removeItem: (k) => spread(id, (m) => m.delete(k)),
      };
    },
  };
}
