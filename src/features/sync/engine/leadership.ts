// Which tab runs the sync engine. Every tab records its own library writes in the outbox
// (outbox.ts) and shows the sync state; ONE tab, the leader of SYNC_ELECTION
// (lib/leader/election.ts: a Web Lock held for the tab's life, or, where navigator.locks is
// missing, as on plain http to a LAN address, a lease in localStorage), runs the engine. The
// others nudge it over a BroadcastChannel and show the state it broadcasts. When leadership
// moves (the leader closes or crashes, or its lease lapses), the new leader starts its engine and
// the old one stops its own. For the moment two tabs may both lead (the lease's race window) both
// engines run, which is safe: pushes are idempotent and merges commutative.
import type { ChannelLike } from '@/lib/leader/channel';
import type { Election, ElectionNames } from '@/lib/leader/election';
import type { StateStore, SyncState } from './sync-state';

export const SYNC_ELECTION: ElectionNames = { lock: 'atelier-sync-leader', leaseKey: 'atelier-sync.leader' };
export const SYNC_CHANNEL = 'atelier-sync';

type Message = { kind: 'nudge' } | { kind: 'state'; state: SyncState };

/** The part of the engine (sync-engine.ts) that leadership drives. */
export interface EngineLike {
  start(): void;
  stop(): void;
  nudge(): void;
}

export interface SyncTab {
  /** whether this tab runs the engine now */
  readonly leader: boolean;
  /** sync now: this tab's engine when it leads, else the leader's */
  nudge(): void;
  /** this tab leaves: its engine stops and the election goes to another tab */
  close(): void;
}

export function joinSync({ election, engine, state, channel }: { election: Election; engine: EngineLike; state: StateStore; channel: ChannelLike | null }): SyncTab {
  let leader = false;
  let closed = false;
  const post = (m: Message) => channel?.post(m);
  const follow = (leads: boolean) => {
    if (closed || leads === leader) return;
    leader = leads;
    if (leads) engine.start();
    else engine.stop();
  };
  channel?.listen((msg) => {
    const m = msg as Message;
    if (m.kind === 'nudge' && leader) engine.nudge();
    if (m.kind === 'state' && !leader) state.set(m.state);
  });
  const unsubState = state.subscribe(() => {
    if (!leader) return;
    election.poke(); // a working leader keeps its lease even when its timers are throttled
    post({ kind: 'state', state: state.get() });
  });
  const offElection = election.onChange(follow);
  follow(election.leader);
  return {
    get leader() {
      return leader;
    },
    nudge: () => (leader ? engine.nudge() : post({ kind: 'nudge' })),
    close() {
      if (leader) engine.stop();
      leader = false;
      closed = true;
      offElection();
      unsubState();
      election.close();
      channel?.close();
    },
  };
}
