// The queue's two FIFO lanes, 'user' drained before 'auto': which items go in the next batch, and
// when the earliest backed-off item becomes ready. Pure bookkeeping over item keys (no timers, no
// I/O); the scheduler owns the items and looks them up through `itemOf`.
import type { Priority, QueueItem } from './types';

const PRIORITIES = ['user', 'auto'] as const;

export interface Pick {
  batch: QueueItem[];
  /** auto work was skipped because it is held (an import runs) */
  heldAuto: boolean;
}

export class Lanes {
  private lanes: Record<Priority, string[]> = { user: [], auto: [] };
  private heads: Record<Priority, number> = { user: 0, auto: 0 };

  constructor(private readonly itemOf: (key: string) => QueueItem | undefined) {}

  push(priority: Priority, key: string): void {
    this.lanes[priority].push(key);
  }

  clear(): void {
    this.lanes = { user: [], auto: [] };
    this.heads = { user: 0, auto: 0 };
  }

  /**
   * The next batch: pending items whose backoff is over, user work first and never mixed with
   * auto work in one call (it should come back first); an item marked `solo` goes alone.
   */
  pick(now: number, maxBatch: number, holdAuto: () => boolean): Pick {
    const batch: QueueItem[] = [];
    for (const priority of PRIORITIES) {
      if (priority === 'auto' && holdAuto()) return { batch, heldAuto: true };
      const lane = this.lanes[priority];
      // Taken slots are blanked (never spliced: lanes can hold 50k keys); the head skips them.
      let head = this.heads[priority];
      for (let i = head; i < lane.length; i++) {
        const key = lane[i]!;
        const it = key ? this.itemOf(key) : undefined;
        if (!it || it.state !== 'pending' || it.priority !== priority) {
          lane[i] = '';
          if (i === head) head++;
          continue;
        }
        if (it.notBefore > now) continue;
        if (it.solo && batch.length > 0) continue;
        batch.push(it);
        lane[i] = '';
        if (i === head) head++;
        if (it.solo || batch.length >= maxBatch) break;
      }
      if (head > 1024 && head * 2 > lane.length) {
        this.lanes[priority] = lane.slice(head);
        head = 0;
      }
      this.heads[priority] = head;
      if (batch.length) return { batch, heldAuto: false };
    }
    return { batch, heldAuto: false };
  }

  /** The earliest backoff deadline among pending items, when nothing is ready now. */
  nextWake(now: number): number | undefined {
    let next: number | undefined;
    for (const priority of PRIORITIES) {
      const lane = this.lanes[priority];
      for (let i = this.heads[priority]; i < lane.length; i++) {
        const it = this.itemOf(lane[i]!);
        if (it?.state === 'pending' && it.notBefore > now) next = Math.min(next ?? Infinity, it.notBefore);
      }
    }
    return next;
  }

  /** Whether any lane still holds a key (work that may be ready). */
  hasWork(): boolean {
    for (const priority of PRIORITIES) {
      const lane = this.lanes[priority];
      for (let i = this.heads[priority]; i < lane.length; i++) if (lane[i]) return true;
    }
    return false;
  }
}
