// Collects items and hands them over in batches: after `waitMs` from the first item of a batch,
// as soon as `maxItems` are waiting, or when flush() is called.
export interface Batcher<T> {
  push(...items: T[]): void;
  flush(): void;
}

export function batcher<T>(deliver: (items: T[]) => void, { waitMs, maxItems = Infinity }: { waitMs: number; maxItems?: number }): Batcher<T> {
  let items: T[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (!items.length) return;
    const batch = items;
    items = [];
    deliver(batch);
  };
  return {
    push(...more) {
      items.push(...more);
      if (items.length >= maxItems || waitMs <= 0) flush();
      else timer ??= setTimeout(flush, waitMs);
    },
    flush,
  };
}
