import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createStore } from 'idb-keyval';
import { createEmbeddings } from '@/lib/api';
import { embeddingModel } from '@/lib/vectors/embedding-model';
import { createCore } from '@/lib/vectors/worker-core';
import type { VectorCall } from '@/lib/vectors/client';
import { envelope, useFakeBackend, type FakeBackend } from '@/test/fake-backend';
import { EmbedLane } from './embed-lane';

const fake = useFakeBackend();
let backend: FakeBackend;
let n = 0;
beforeEach(() => {
  backend = fake();
  backend.embeddingCalls = [];
  backend.embeddingModels = [{ id: 'emb-a', downloaded: true }];
  // the "image" is its id; its vector says which one it is
  backend.embed = (x) => Array.from({ length: 32 }, (_, i) => (i === Number(x.split(':')[1]) % 32 ? 1 : 0.01));
});

function lane(ids: string[], extra: Partial<ConstructorParameters<typeof EmbedLane>[0]> = {}) {
  const core = createCore({ store: createStore(`lane-${++n}`, 'segments') });
  const index: VectorCall = (req) => core.handle(req);
  const l = new EmbedLane({
    model: () => embeddingModel({ fresh: true }),
    embed: async (model, images, signal) => (await createEmbeddings({ model, input: images }, signal)).vectors,
    index,
    recordIds: async () => ids,
    images: async (ids) => ids.map((id) => (id.startsWith('gone') ? undefined : `img:${id.slice(1)}`)),
    batch: 4,
    backoffMs: 5,
    ...extra,
  });
  return { l, index };
}

describe('the indexing lane', () => {
  it('embeds every image without a vector of the current model, in batches, then nothing more', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `r${i}`);
    const { l, index } = lane([...ids, 'gone-1']);
    l.wake();
    await l.idle();
    expect(backend.embeddingCalls.map((c) => c.input.length)).toEqual([4, 4, 2]);
    expect(backend.embeddingCalls[0]!.model).toBe('emb-a');
    expect(await index({ op: 'missing', model: 'emb-a', ids })).toEqual([]);
    // the planted image ranks first for its own vector
    await index({ op: 'open', model: 'emb-a' });
    const q = Float32Array.from({ length: 32 }, (_, i) => (i === 7 ? 1 : 0.01));
    expect((await index({ op: 'query', vector: q, k: 1 })).ids).toEqual(['r7']);
    expect(l.getSnapshot()).toMatchObject({ state: 'idle', done: 10 });
    l.wake();
    await l.idle();
    expect(backend.embeddingCalls).toHaveLength(3);
    l.stop();
  });

  it('embeds everything again for a new model, and images added later', async () => {
    const ids = ['r1', 'r2'];
    const { l, index } = lane(ids);
    l.wake();
    await l.idle();
    backend.embeddingModels = [{ id: 'emb-b', downloaded: true }];
    ids.push('r3');
    l.wake();
    await l.idle();
    expect(backend.embeddingCalls.map((c) => [c.model, c.input.length])).toEqual([['emb-a', 2], ['emb-b', 3]]);
    expect(await index({ op: 'missing', model: 'emb-b', ids })).toEqual([]);
    l.stop();
  });

  it('sets aside an image the model refuses and embeds the rest of its batch', async () => {
    // a 400 for any call that carries the bad image
    backend.onEmbeddings = (input) => (input.includes('img:2') ? { status: 400, body: envelope('input[0] is not an image that can be decoded', 'invalid_image') } : undefined);
    try {
      const ids = ['r0', 'r1', 'r2', 'r3'];
      const { l, index } = lane(ids);
      l.wake();
      await l.idle();
      expect(await index({ op: 'missing', model: 'emb-a', ids })).toEqual(['r2']);
      expect(l.getSnapshot().failed).toBe(1);
      l.stop();
    } finally {
      delete backend.onEmbeddings;
    }
  });

  it('waits without a model, and while an import runs', async () => {
    backend.embeddingModels = [{ id: 'emb-a', downloaded: false }];
    let importing = false;
    const { l } = lane(['r1'], { hold: () => importing });
    l.wake();
    await l.idle();
    expect(l.getSnapshot()).toMatchObject({ state: 'no-model', reason: 'no embeddings model downloaded' });
    backend.embeddingModels = [{ id: 'emb-a', downloaded: true }];
    importing = true;
    l.wake();
    await l.idle();
    expect(l.getSnapshot().state).toBe('waiting');
    expect(backend.embeddingCalls).toHaveLength(0);
    importing = false;
    l.wake();
    await l.idle();
    expect(backend.embeddingCalls).toHaveLength(1);
    l.stop();
  });

  it('asks nothing while an import runs', async () => {
    let asked = 0;
    const { l } = lane(['r1'], {
      hold: () => true,
      recordIds: async () => {
        asked++;
        return ['r1'];
      },
    });
    l.wake();
    await l.idle();
    expect(l.getSnapshot()).toMatchObject({ state: 'waiting', reason: 'waits for the import to finish' });
    expect(asked).toBe(0);
    l.stop();
  });

  function traced(ids: string[], extra: Partial<ConstructorParameters<typeof EmbedLane>[0]> = {}) {
    const log: string[] = [];
    const reads: string[][] = [];
    let open = 0;
    let most = 0;
    const core = createCore({ store: createStore(`lane-${++n}`, 'segments') });
    // every store is slow
    const index: VectorCall = async (req) => {
      if (req.op === 'put') {
        await new Promise((r) => setTimeout(r, 30));
        log.push(`stored ${req.ids.join(',')}`);
      }
      return core.handle(req);
    };
    const name = (images: string[]) => images.map((x) => `r${x.slice(4)}`).join(',');
    const { l } = lane(ids, {
      index,
      images: async (batch) => {
        reads.push(batch);
        log.push(`read ${batch.join(',')}`);
        return batch.map((id) => `img:${id.slice(1)}`);
      },
      embed: async (model, images, signal) => {
        log.push(`call ${name(images)}`);
        most = Math.max(most, ++open);
        try {
          return (await createEmbeddings({ model, input: images }, signal)).vectors;
        } finally {
          open--;
          log.push(`answer ${name(images)}`);
        }
      },
      ...extra,
    });
    return { l, index, log, reads, most: () => most };
  }

  it('reads a batch in one go, and keeps the next call queued while one runs (two in flight)', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `r${i}`);
    const { l, index, log, reads, most } = traced(ids);
    l.wake();
    await l.idle();
    // one read per batch, each image read once
    expect(reads.map((b) => b.join(',')).sort()).toEqual(['r0,r1,r2,r3', 'r4,r5,r6,r7', 'r8,r9']);
    // the first call went out alone: the second batch was read after it was sent
    expect(log.slice(0, 3)).toEqual(['read r0,r1,r2,r3', 'call r0,r1,r2,r3', 'read r4,r5,r6,r7']);
    // the second call went out before the first answered; never more than two at once
    expect(log.indexOf('call r4,r5,r6,r7')).toBeLessThan(log.indexOf('answer r0,r1,r2,r3'));
    expect(most()).toBe(2);
    // exactly once: one call and one store per batch, every vector there when the pass ends
    expect(backend.embeddingCalls.map((c) => c.input.length).sort()).toEqual([2, 4, 4]);
    expect(log.filter((x) => x.startsWith('stored'))).toHaveLength(3);
    expect(await index({ op: 'missing', model: 'emb-a', ids })).toEqual([]);
    expect(l.getSnapshot()).toMatchObject({ state: 'idle', done: 10, left: 0 });
    l.stop();
  });

  it('with one call in flight, reads the next batch while the call runs and sends it before storing the last', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `r${i}`);
    const { l, index, log, most } = traced(ids, { inFlight: 1 });
    l.wake();
    await l.idle();
    expect(most()).toBe(1);
    // never more than one call out, and none waits on the store or the read of the batch before
    expect(log.slice(0, 5)).toEqual(['read r0,r1,r2,r3', 'call r0,r1,r2,r3', 'read r4,r5', 'answer r0,r1,r2,r3', 'call r4,r5']);
    expect(log.indexOf('stored r0,r1,r2,r3')).toBeGreaterThan(log.indexOf('call r4,r5'));
    expect(log.filter((x) => x.startsWith('stored'))).toEqual(['stored r0,r1,r2,r3', 'stored r4,r5']);
    expect(await index({ op: 'missing', model: 'emb-a', ids })).toEqual([]);
    l.stop();
  });

  it('retries a batch the backend could not take now, without reading or sending another twice', async () => {
    let busy = 1;
    backend.onEmbeddings = () => (busy-- > 0 ? { status: 503, body: envelope('busy', 'server_busy') } : undefined);
    try {
      const ids = Array.from({ length: 6 }, (_, i) => `r${i}`);
      const reads: string[][] = [];
      const { l, index } = lane(ids, {
        images: async (batch) => (reads.push(batch), batch.map((id) => `img:${id.slice(1)}`)),
        backoffMs: 50,
      });
      l.wake();
      // a wake during the wait neither loses the pass nor starts a second one beside it
      // (both calls sent: the refused one waits its 50 ms before it is sent again)
      await vi.waitFor(() => expect(backend.embeddingCalls).toHaveLength(2), { interval: 1 });
      l.wake();
      await l.idle();
      expect(reads.map((b) => b.join(',')).sort()).toEqual(['r0,r1,r2,r3', 'r4,r5']);
      // the refused call, the same batch again, and the other one: three calls
      expect(backend.embeddingCalls.map((c) => c.input.join(',')).sort()).toEqual(['img:0,img:1,img:2,img:3', 'img:0,img:1,img:2,img:3', 'img:4,img:5']);
      expect(await index({ op: 'missing', model: 'emb-a', ids })).toEqual([]);
      expect(l.getSnapshot()).toMatchObject({ state: 'idle', done: 6, left: 0 });
      l.stop();
    } finally {
      delete backend.onEmbeddings;
    }
  });

  it('waits and tries again when the vectors cannot be stored, and loses none', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `r${i}`);
    const core = createCore({ store: createStore(`lane-${++n}`, 'segments') });
    let failing = 1;
    const index: VectorCall = async (req) => {
      if (req.op === 'put' && failing-- > 0) throw new Error('QuotaExceededError');
      return core.handle(req);
    };
    const { l } = lane(ids, { index, inFlight: 1, backoffMs: 20 });
    const states: string[] = [];
    l.subscribe(() => states.push(`${l.getSnapshot().state}: ${l.getSnapshot().reason ?? ''}`));
    l.wake();
    await vi.waitFor(async () => expect(await index({ op: 'missing', model: 'emb-a', ids })).toEqual([]));
    expect(states).toContain('waiting: could not store the vectors: QuotaExceededError');
    await l.idle();
    expect(l.getSnapshot()).toMatchObject({ state: 'idle', left: 0 });
    l.stop();
  });

  it('embeds images it is told of first, without listing the library, then looks at the rest', async () => {
    const ids = ['r0', 'r1', 'r2', 'r3', 'r4'];
    const order: string[] = [];
    const { l, index } = lane(ids, {
      batch: 8,
      recordIds: async () => (order.push('listed'), ids),
      embed: async (model, images, signal) => (order.push(`call ${images.length}`), (await createEmbeddings({ model, input: images }, signal)).vectors),
    });
    // r0 is there already; r3 and r4 were just added
    l.hint(['r3', 'r4']);
    l.wake();
    await l.idle();
    expect(order).toEqual(['call 2', 'listed', 'call 3']);
    expect(backend.embeddingCalls[0]!.input).toEqual(['img:3', 'img:4']);
    expect(await index({ op: 'missing', model: 'emb-a', ids })).toEqual([]);
    expect(l.getSnapshot()).toMatchObject({ state: 'idle', left: 0, done: 5 });
    l.stop();
  });

  it('sends no image it is told of that already has a vector', async () => {
    const { l, index } = lane(['r0', 'r1'], { batch: 8 });
    await index({ op: 'put', model: 'emb-a', dim: 32, ids: ['r0'], vectors: new Float32Array(32).fill(0.1) });
    l.hint(['r0', 'r1']);
    l.wake();
    await l.idle();
    expect(backend.embeddingCalls.map((c) => c.input)).toEqual([['img:1']]);
    l.stop();
  });
});
