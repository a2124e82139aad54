import { describe, expect, it } from 'vitest';
import { createStore, setMany } from 'idb-keyval';
import { getInOrder } from './sorted-reads';

const id = (i: number) => `k${String(i).padStart(4, '0')}`;

describe('reading many keys in key order', () => {
  it('gives each id its value, whether the range holds the ids alone, other keys too, or absent ones', async () => {
    const store = createStore('sorted-reads-test', 'kv');
    await setMany(Array.from({ length: 300 }, (_, i) => [id(i), { i }]), store);
    const run = Array.from({ length: 50 }, (_, i) => id(i + 10));
    expect(await getInOrder(run, store)).toEqual(run.map((_, i) => ({ i: i + 10 })));
    // every third key of a range, and two that are not stored
    const sparse = [...Array.from({ length: 40 }, (_, i) => id(i * 3)), 'k0299x', 'k9999'];
    expect(await getInOrder(sparse, store)).toEqual([...Array.from({ length: 40 }, (_, i) => ({ i: i * 3 })), undefined, undefined]);
    // far apart: the range holds more other keys than ids (read key by key)
    const far = Array.from({ length: 20 }, (_, i) => id(i * 15));
    expect(await getInOrder(far, store)).toEqual(far.map((_, i) => ({ i: i * 15 })));
    // not in key order, with a repeat
    const shuffled = [id(5), id(2), id(7), id(2), ...run];
    expect(await getInOrder(shuffled, store)).toEqual(shuffled.map((k) => ({ i: Number(k.slice(1)) })));
    expect(await getInOrder([], store)).toEqual([]);
    // more than one chunk, ascending
    const long = Array.from({ length: 200 }, (_, i) => id(i + 50));
    expect(await getInOrder(long, store)).toEqual(long.map((_, i) => ({ i: i + 50 })));
  });
});
