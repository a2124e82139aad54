// One analysis queue for all the app's tabs. The tab elected leader (leader.ts) runs the real
// AnalysisQueue; every tab, leader included, talks to it through this facade, which has the
// queue's methods, so callers (the panel, the status page, imports, "Analyse") do not care which
// tab they are in.
//
// Over a BroadcastChannel:
//   cmd    follower -> leader   enqueue / pause / resume / clear / retry, with an id
//   ack    leader -> follower   after the command took effect (enqueue: once the items are durable)
//   snap   leader -> all        every change of the queue's snapshot: followers show it as theirs
//   hello  new tab -> leader    "send me the snapshot"
//   leader new leader -> all    followers resend unacknowledged commands at once
//   bye    old leader -> all    it stepped down (lease only): look for a new leader now
//   applied leader -> all   records whose result it wrote: followers reload them into their library
//
// Nothing is lost in a hand-over: a command stays in its tab's outbox until a leader acknowledges
// it, and is sent again every `retryMs` (a leader that died after receiving it, or a moment with
// no leader); if the tab itself becomes leader, it runs the outbox locally. A leader remembers the
// ids it handled, so a repeat is acknowledged, not run twice. A repeat that reaches the *next*
// leader (the old one ran it and died before its ack) finds the records already queued, which
// enqueue ignores; only pause/resume/clear/retry would apply again, and they are idempotent.
// A new leader loads the persisted queue first (AnalysisQueue.start: claimed items go back to
// pending) and keeps a pause it heard from the old leader.
import type { AnalysisQueue } from './scheduler';
import type { ChannelLike } from '@/lib/leader/channel';
import type { Election, ElectionNames } from '@/lib/leader/election';
import type { Priority, QueueSnapshot } from './types';

export const CHANNEL_NAME = 'atelier-analysis-queue';
/** The queue's election (lib/leader/election.ts): its own, apart from sync's and the lane's. */
export const QUEUE_ELECTION: ElectionNames = { lock: 'atelier-analysis-queue', leaseKey: 'atelier-analysis-queue.leader' };


export type Command =
  | { op: 'enqueue'; ids: string[]; priority: Priority }
  | { op: 'pause' }
  | { op: 'resume' }
  | { op: 'clear' }
  | { op: 'retry'; keys?: string[] };

const V = 1;
type Message =
  | { v: typeof V; t: 'cmd'; from: string; id: string; cmd: Command }
  | { v: typeof V; t: 'ack'; from: string; to: string; id: string; error?: string }
  | { v: typeof V; t: 'snap'; from: string; snap: QueueSnapshot }
  | { v: typeof V; t: 'applied'; from: string; ids: string[] }
  | { v: typeof V; t: 'hello' | 'leader' | 'bye'; from: string };
type Outgoing = Message extends infer M ? (M extends Message ? Omit<M, 'v' | 'from'> : never) : never;

export type Role = 'leader' | 'follower' | 'unknown';

const EMPTY: QueueSnapshot = { state: 'idle', total: 0, done: 0, failed: 0, pending: 0, inflight: 0, current: [], rate: 0, etaMs: undefined, requests: 0, concurrency: 1, failures: [] };

const LOST = Symbol('lost');
type RunResult = { error?: string } | typeof LOST;

interface Pending {
  cmd: Command;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface SharedQueueOptions {
  /** a fresh queue for each term as leader (it loads the persisted items on start) */
  create: () => AnalysisQueue;
  /** this tab's election, given its id; started by start() */
  election: (id: string) => Election;
  /** undefined where BroadcastChannel is missing (the election is then solo) */
  channel: () => ChannelLike | undefined;
  id?: string;
  /** resend unacknowledged commands this often */
  retryMs?: number;
  /** how many handled command ids a leader remembers */
  remember?: number;
  /** in a follower: the leader wrote analysis results onto these records */
  onApplied?: (recordIds: string[]) => void;
}

export class SharedQueue {
  readonly id: string;
  private readonly o: SharedQueueOptions;
  private readonly retryMs: number;
  private election: Election | undefined;
  private channel: ChannelLike | undefined;
  private started = false;
  private stopped = false;

  /** the queue this tab runs while it leads; a new one each term */
  private inner: AnalysisQueue | undefined;
  private innerReady = false;
  private offInner: (() => void) | undefined;
  private term = 0;
  /** commands run one after another in the leader, in arrival order */
  private chain: Promise<unknown> = Promise.resolve();
  private handled = new Map<string, Promise<RunResult>>();

  private outbox = new Map<string, Pending>();
  private seq = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  private applied: string[] = [];
  private appliedTimer: ReturnType<typeof setTimeout> | undefined;

  private leaderId: string | undefined;
  /** the last snapshot heard from another tab's leader */
  private heard: QueueSnapshot | undefined;
  private snap: QueueSnapshot = EMPTY;
  private listeners = new Set<() => void>();

  constructor(opts: SharedQueueOptions) {
    this.o = opts;
    this.id = opts.id ?? `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
    this.retryMs = opts.retryMs ?? 1_000;
  }

  // ---- lifecycle

  /** Join the election (idempotent). Resolves once this tab's queue is loaded, if it leads. */
  start(): Promise<void> {
    if (!this.started && !this.stopped) {
      this.started = true;
      this.channel = this.o.channel();
      this.channel?.listen((m) => this.onMessage(m));
      this.election = this.o.election(this.id);
      this.election.onChange((leader) => (leader ? this.lead() : this.follow()));
      this.post({ t: 'hello' });
      if (this.election.leader) this.lead();
    }
    return this.inner ? this.inner.start() : Promise.resolve();
  }

  /** Leave without a word (a closed or crashed tab; tests). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.appliedTimer);
    this.election?.close();
    this.offInner?.();
    this.inner?.stop();
    this.inner = undefined;
    this.channel?.close();
    for (const p of this.outbox.values()) p.reject(new Error('the analysis queue was stopped'));
    this.outbox.clear();
  }

  get isLeader(): boolean {
    return !!this.election?.leader && !this.stopped;
  }

  role(): Role {
    return this.isLeader ? 'leader' : this.leaderId ? 'follower' : 'unknown';
  }

  // ---- commands (the AnalysisQueue's, wherever the queue runs)

  /** Queue records; resolves once a leader (maybe this tab) has made them durable. */
  enqueue(recordIds: readonly string[], priority: Priority = 'user'): Promise<void> {
    return this.send({ op: 'enqueue', ids: [...recordIds], priority });
  }

  pause(): void {
    void this.send({ op: 'pause' }).catch(() => undefined);
  }

  resume(): void {
    void this.send({ op: 'resume' }).catch(() => undefined);
  }

  retry(keys?: readonly string[]): Promise<void> {
    return this.send(keys ? { op: 'retry', keys: [...keys] } : { op: 'retry' });
  }

  clear(): Promise<void> {
    return this.send({ op: 'clear' });
  }

  /** The leader's sink wrote a result onto this record: other tabs should reload it (batched). */
  announceApplied(recordId: string): void {
    this.applied.push(recordId);
    this.appliedTimer ??= setTimeout(() => {
      this.appliedTimer = undefined;
      const ids = this.applied.splice(0);
      if (ids.length) this.post({ t: 'applied', ids });
    }, 100);
  }

  // ---- reading

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): QueueSnapshot => this.snap;

  /** Resolves when every command is acknowledged and the queue (wherever it runs) has nothing left. */
  async idle(): Promise<void> {
    await this.start();
    for (;;) {
      const s = this.snap;
      const known = this.isLeader ? this.innerReady : !!this.leaderId;
      if (known && this.outbox.size === 0 && s.pending + s.inflight === 0 && s.requests === 0) break;
      await new Promise<void>((resolve) => {
        const off = this.subscribe(() => {
          off();
          resolve();
        });
      });
    }
    if (this.isLeader) await this.inner?.idle();
  }

  // ---- roles

  private lead(): void {
    if (this.stopped || this.inner) return;
    const term = ++this.term;
    const q = this.o.create();
    this.inner = q;
    this.innerReady = false;
    this.leaderId = this.id;
    // A pause outlives the tab that was asked for it.
    if (this.heard?.state === 'paused') q.pause();
    this.offInner = q.subscribe(() => this.onInnerChange(term));
    this.post({ t: 'leader' });
    void q.start().then(() => {
      if (term !== this.term) return;
      this.innerReady = true;
      this.onInnerChange(term);
    });
    this.flush();
    this.emit();
  }

  /** Stepped down (the lease was lost; never with Web Locks): another tab runs the queue now. */
  private follow(): void {
    if (!this.inner) return;
    this.term++;
    this.offInner?.();
    this.inner.stop();
    this.inner = undefined;
    this.innerReady = false;
    this.leaderId = undefined;
    this.post({ t: 'bye' });
    this.flush();
    this.emit();
  }

  private onInnerChange(term: number): void {
    if (term !== this.term || !this.innerReady || !this.inner) return;
    this.snap = this.inner.getSnapshot();
    this.post({ t: 'snap', snap: this.snap });
    this.election?.poke(); // a working leader keeps its lease even when its timers are throttled
    this.emit();
  }

  // ---- messages

  private post(msg: Outgoing): void {
    if (this.stopped) return;
    try {
      this.channel?.post({ ...msg, v: V, from: this.id });
    } catch (err) {
      console.error('analysis queue: could not message the other tabs', err);
    }
  }

  private onMessage(raw: unknown): void {
    if (this.stopped || !raw || typeof raw !== 'object') return;
    const m = raw as Message;
    if (m.v !== V || typeof m.from !== 'string' || m.from === this.id) return;
    switch (m.t) {
      case 'cmd':
        if (this.isLeader) this.handle(m.from, m.id, m.cmd);
        break;
      case 'ack': {
        const p = m.to === this.id ? this.outbox.get(m.id) : undefined;
        if (!p) break;
        this.outbox.delete(m.id);
        if (m.error) p.reject(new Error(m.error));
        else p.resolve();
        break;
      }
      case 'snap':
        if (this.isLeader) {
          this.election?.poke(); // two leaders (the lease's race): the one not holding it steps down
          break;
        }
        this.leaderId = m.from;
        this.heard = m.snap;
        this.snap = m.snap;
        this.emit();
        break;
      case 'applied':
        if (!this.isLeader && Array.isArray(m.ids)) this.o.onApplied?.(m.ids);
        break;
      case 'hello':
        if (this.isLeader && this.innerReady) this.post({ t: 'snap', snap: this.snap });
        break;
      case 'leader':
        if (this.isLeader) this.election?.poke();
        else {
          this.leaderId = m.from;
          this.flush();
          this.emit();
        }
        break;
      case 'bye':
        if (this.leaderId === m.from) this.leaderId = undefined;
        this.election?.poke();
        this.emit();
        break;
    }
  }

  /** A follower's command, in the leader: run it once, acknowledge every copy. */
  private handle(from: string, id: string, cmd: Command): void {
    let p = this.handled.get(id);
    if (!p) {
      p = this.run(cmd);
      this.handled.set(id, p);
      const max = this.o.remember ?? 1_000;
      for (const old of this.handled.keys()) {
        if (this.handled.size <= max) break;
        this.handled.delete(old);
      }
    }
    void p.then((res) => {
      // Stepped down before it took effect: no ack, the follower sends it to the next leader.
      if (res === LOST) this.handled.delete(id);
      else this.post({ t: 'ack', to: from, id, ...(res.error ? { error: res.error } : {}) });
    });
  }

  /** Run a command on this tab's queue, after the ones before it. */
  private run(cmd: Command): Promise<RunResult> {
    const term = this.term;
    const q = this.inner;
    const p = this.chain.then(async (): Promise<RunResult> => {
      if (!q || term !== this.term) return LOST;
      try {
        switch (cmd.op) {
          case 'enqueue':
            await q.enqueue(cmd.ids, cmd.priority);
            break;
          case 'pause':
            q.pause();
            break;
          case 'resume':
            q.resume();
            break;
          case 'clear':
            await q.clear();
            break;
          case 'retry':
            await q.retry(cmd.keys);
            break;
        }
      } catch (err) {
        return { error: err instanceof Error ? err.message : String(err) };
      }
      // A queue stopped meanwhile drops its writes: the command may not have taken effect.
      return term === this.term ? {} : LOST;
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  private send(cmd: Command): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('the analysis queue was stopped'));
    void this.start().catch(() => undefined);
    return new Promise<void>((resolve, reject) => {
      const id = `${this.id}:${++this.seq}`;
      const p = { cmd, resolve, reject };
      this.outbox.set(id, p);
      this.dispatch(id, p);
      this.arm();
    });
  }

  /** Run a command here (leader) or send it to the leader (follower; it stays in the outbox). */
  private dispatch(id: string, p: Pending): void {
    if (!this.isLeader) return this.post({ t: 'cmd', id, cmd: p.cmd });
    this.outbox.delete(id);
    void this.run(p.cmd).then((res) => {
      if (res === LOST) {
        // This tab stepped down meanwhile: the command goes to the next leader.
        this.outbox.set(id, p);
        this.dispatch(id, p);
        this.arm();
      } else if (res.error) p.reject(new Error(res.error));
      else p.resolve();
    });
  }

  /** Everything unacknowledged, again (a new leader, or the retry timer). */
  private flush(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.stopped) return;
    for (const [id, p] of this.outbox) this.dispatch(id, p);
    this.arm();
  }

  private arm(): void {
    if (this.retryTimer || this.stopped || this.isLeader || this.outbox.size === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, this.retryMs);
  }

  private emit(): void {
    for (const l of [...this.listeners]) l();
  }
}
