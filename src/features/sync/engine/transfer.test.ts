import { describe, expect, it } from 'vitest';
import { ApiError } from '@/lib/api/errors';
import { BATCH_BLOB_MAX, BATCH_BLOBS, BATCH_BYTES, batchesOf, MIN_PIECE, PIECE, pool, SMALL_BLOB, uploadBlob, uploadSmallBlobs, type Transport } from './transfer';

/** A server's blob store in memory, speaking the HEAD / PUT-with-Content-Range protocol. */
function memoryServer() {
  const parts = new Map<string, number>(); // sha -> bytes of its part
  const stored = new Set<string>();
  const puts: { start: number; size: number }[] = [];
  const heads: string[] = [];
  const t: Transport & { parts: typeof parts; stored: typeof stored; puts: typeof puts; heads: typeof heads; failNext?: ApiError; hang?: boolean } = {
    parts,
    stored,
    puts,
    heads,
    head: async (sha) => {
      heads.push(sha);
      return { stored: stored.has(sha), offset: parts.get(sha) ?? 0 };
    },
    put: async (sha, piece, start, size, _type, onBytes, signal) => {
      puts.push({ start, size: piece.size });
      if (t.failNext) {
        const err = t.failNext;
        t.failNext = undefined;
        throw err;
      }
      if (t.hang) {
        await new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new ApiError('Cancelled', { code: 'cancelled' }))));
      }
      if (stored.has(sha)) return { sha256: sha, size, complete: true, offset: size }; // not read again
      const have = parts.get(sha) ?? 0;
      if (start !== 0 && start !== have) throw new ApiError(`send from byte ${have}`, { status: 409 });
      onBytes(piece.size);
      parts.set(sha, start + piece.size);
      if (start + piece.size === size) {
        parts.delete(sha);
        stored.add(sha);
      }
      return { sha256: sha, size, complete: start + piece.size === size, offset: start + piece.size };
    },
  };
  return t;
}

const blobOf = (n: number) => new Blob([new Uint8Array(n)], { type: 'image/png' });

describe('resumable upload', () => {
  it('goes on where the server part ends, in pieces, and counts each byte once', async () => {
    const size = 2 * PIECE + 1000;
    const server = memoryServer();
    server.parts.set('s', 5000); // an upload cut by a crash left 5000 bytes
    let counted = 0;
    await uploadBlob('s', blobOf(size), (d) => (counted += d), { transport: server });
    expect(server.stored.has('s')).toBe(true);
    expect(server.puts.map((p) => p.start)).toEqual([5000, 5000 + PIECE]);
    expect(counted).toBe(size);
  });

  it('a body limit below the piece size (413) gets smaller pieces, from where the server part ends', async () => {
    const limit = PIECE / 4 + 10; // e.g. ATELIER_MAX_BODY_MB or a proxy's client_max_body_size
    const size = PIECE + 5000;
    const server = memoryServer();
    const put = server.put;
    server.put = async (sha, piece, ...rest) => {
      if (piece.size > limit) {
        server.puts.push({ start: rest[0], size: piece.size });
        throw new ApiError('request body is too large', { status: 413 });
      }
      return put(sha, piece, ...rest);
    };
    let counted = 0;
    await uploadBlob('s', blobOf(size), (d) => (counted += d), { transport: server });
    expect(server.stored.has('s')).toBe(true);
    const accepted = server.puts.filter((p) => p.size <= limit);
    expect(accepted.every((p) => p.size <= PIECE / 4)).toBe(true);
    expect(accepted.reduce((n, p) => n + p.size, 0)).toBe(size);
    expect(counted).toBe(size);
  });

  it('a 413 for pieces already at the smallest size is an error, not a loop', async () => {
    const server = memoryServer();
    server.put = async () => {
      throw new ApiError('request body is too large', { status: 413 });
    };
    await expect(uploadBlob('s', blobOf(2 * MIN_PIECE), undefined, { transport: server })).rejects.toMatchObject({ status: 413 });
  });

  it('a 409 (the part is elsewhere than thought) asks HEAD again and goes on from there', async () => {
    const size = SMALL_BLOB + 3000;
    const server = memoryServer();
    server.parts.set('s', 1000);
    server.failNext = new ApiError('this upload has 1500 bytes so far', { status: 409 });
    const put = server.put;
    server.put = async (...args) => {
      if (server.failNext) server.parts.set('s', 1500); // the part moved meanwhile
      return put(...args);
    };
    let counted = 0;
    await uploadBlob('s', blobOf(size), (d) => (counted += d), { transport: server });
    expect(server.puts.map((p) => p.start)).toEqual([1000, 1500]);
    expect(server.stored.has('s')).toBe(true);
    expect(counted).toBe(size);
  });

  it('a small blob (a thumbnail) goes out whole in one request, without asking first', async () => {
    const server = memoryServer();
    let counted = 0;
    await uploadBlob('t', blobOf(20_000), (d) => (counted += d), { transport: server });
    expect(server.heads).toEqual([]);
    expect(server.puts).toEqual([{ start: 0, size: 20_000 }]);
    expect(server.stored.has('t')).toBe(true);
    expect(counted).toBe(20_000);
  });

  it("a small blob whose upload the server holds part of starts over, or after a 409 goes on from the server's part", async () => {
    const server = memoryServer();
    server.parts.set('t', 500); // a crash cut it: sending it whole starts the part over
    await uploadBlob('t', blobOf(20_000), undefined, { transport: server });
    expect(server.puts.map((p) => p.start)).toEqual([0]);
    expect(server.stored.has('t')).toBe(true);

    const busy = memoryServer();
    busy.parts.set('u', 700);
    busy.failNext = new ApiError('this upload has 700 bytes so far', { status: 409 });
    await uploadBlob('u', blobOf(20_000), undefined, { transport: busy });
    expect(busy.heads).toEqual(['u']);
    expect(busy.puts.map((p) => p.start)).toEqual([0, 700]);
    expect(busy.stored.has('u')).toBe(true);
  });

  it('other failures end the upload (the engine retries the cycle later)', async () => {
    const server = memoryServer();
    server.failNext = new ApiError('Cannot reach the backend', { offline: true, retryable: true });
    await expect(uploadBlob('s', blobOf(10), undefined, { transport: server })).rejects.toMatchObject({ offline: true });
    expect(server.stored.has('s')).toBe(false);
  });

  it('an upload that moves no byte is cut after the stall time, as offline', async () => {
    const server = memoryServer();
    server.hang = true;
    const started = Date.now();
    await expect(uploadBlob('s', blobOf(10), undefined, { transport: server, stallMs: 50 })).rejects.toMatchObject({ offline: true, message: expect.stringContaining('moved no byte') });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a stored blob is not sent again', async () => {
    const server = memoryServer();
    server.stored.add('s');
    let counted = 0;
    await uploadBlob('s', blobOf(SMALL_BLOB + 10), (d) => (counted += d), { transport: server });
    expect(server.puts).toEqual([]);
    expect(counted).toBe(SMALL_BLOB + 10);
  });
});

describe('worker pool', () => {
  it('starts nothing after a failure and rejects only once the running items have ended', async () => {
    const started: number[] = [];
    const ended: number[] = [];
    const p = pool([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      await new Promise((r) => setTimeout(r, i === 0 ? 5 : 30));
      ended.push(i);
      if (i === 0) throw new Error('boom');
    });
    await expect(p).rejects.toThrow('boom');
    // item 1 was running when item 0 failed: it ended before the pool rejected; nothing else began
    expect(started).toEqual([0, 1]);
    expect(ended.sort()).toEqual([0, 1]);
  });

  it('runs every item, at most n at a time', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await pool([...Array(10).keys()], 3, async (i) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      done.push(i);
    });
    expect(done.sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(most).toBe(3);
  });
});

describe('thumbnails in batches', () => {
  const item = (sha: string, n: number) => [sha, blobOf(n)] as const;

  it('fills each batch up to the count and byte limits, and leaves a blob too large for a batch alone', () => {
    const many = Array.from({ length: BATCH_BLOBS + 5 }, (_, i) => item(`s${i}`, 10));
    expect(batchesOf(many).batches.map((b) => b.length)).toEqual([BATCH_BLOBS, 5]);
    const heavy = Array.from({ length: 20 }, (_, i) => item(`h${i}`, BATCH_BLOB_MAX));
    const { batches, alone } = batchesOf([...heavy, item('big', BATCH_BLOB_MAX + 1)]);
    expect(batches.every((b) => b.reduce((n, [, blob]) => n + blob.size, 0) <= BATCH_BYTES)).toBe(true);
    expect(batches.flat().length).toBe(20);
    expect(alone.map(([sha]) => sha)).toEqual(['big']);
  });

  it('sends each thumbnail once, small ones a batch per request, a large one by itself', async () => {
    const sent: string[][] = [];
    const alone: string[] = [];
    await uploadSmallBlobs(
      [item('a', 5), item('b', 5), item('a', 5), item('big', BATCH_BLOB_MAX + 1)],
      async (b) => {
        sent.push(b.map(([sha]) => sha));
        return { object: 'list', data: [], new: b.length };
      },
      async (sha) => void alone.push(sha),
    );
    expect(sent).toEqual([['a', 'b']]);
    expect(alone).toEqual(['big']);
  });

  it('a failed batch fails the push (nothing after it is sent)', async () => {
    let calls = 0;
    const many = Array.from({ length: BATCH_BLOBS + 1 }, (_, i) => item(`s${i}`, 10));
    await expect(uploadSmallBlobs(many, async () => {
      calls++;
      throw new ApiError('Cannot reach the backend', { offline: true });
    })).rejects.toMatchObject({ offline: true });
    expect(calls).toBe(1);
  });
});
