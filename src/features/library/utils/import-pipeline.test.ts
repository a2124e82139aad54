import { describe, expect, it } from 'vitest';
import { StorageQuotaError } from '@/lib/db/errors';
import type { NewImage } from '@/lib/db/records';
import type { ProcessedImage } from '@/lib/workers/protocol';
import { runImport, type ImportItem } from './import-pipeline';
import { buildXmp } from './xmp';
import { makeRecord } from '@/lib/db/make-record';

const item = (name: string, content: string, type = 'image/png'): ImportItem => ({ name, file: new Blob([content], { type }) });

async function fakeProcess(file: Blob): Promise<ProcessedImage> {
  const text = await file.text();
  if (text.startsWith('corrupt')) throw new Error('cannot decode image (corrupt)');
  return { hash: `h:${text}`, mime: 'image/png', width: 10, height: 5, thumb: new Blob(['t']), thumbW: 10, thumbH: 5 };
}

describe('import pipeline', () => {
  it('imports, skips duplicates and corrupt files with a reason each, and keeps input order', async () => {
    const committed: NewImage[] = [];
    const known = new Map([['h:old', 'old.png']]);
    const p = await runImport(
      [item('a.png', 'A'), item('b.png', 'B'), item('a-copy.png', 'A'), item('bad.png', 'corrupt!'), item('notes.txt', 'x', 'text/plain'), item('old-again.png', 'old')],
      { process: fakeProcess, commit: async (imgs) => void committed.push(...imgs), knownHashes: known },
      { concurrency: 2 },
    );
    expect(p).toMatchObject({ total: 6, done: 6, imported: 2, duplicates: 2, finished: true, cancelled: false });
    expect(p.skipped).toEqual(expect.arrayContaining([
      { name: 'a-copy.png', reason: 'duplicate of a.png' },
      { name: 'bad.png', reason: 'cannot decode image (corrupt)' },
      { name: 'notes.txt', reason: 'unsupported file type' },
      { name: 'old-again.png', reason: 'duplicate of old.png' },
    ]));
    const [a, b] = committed.map((c) => c.record);
    expect(a!.name).toBe('a.png');
    expect(a!.addedAt).toBeGreaterThan(b!.addedAt);
  });

  it('keeps the first of two identical files listed, even when the later one decodes first', async () => {
    const committed: NewImage[] = [];
    // the first file is slow to decode (a big original), its copy is quick
    const slowFirst = async (file: Blob) => {
      const text = await file.text();
      if (text === 'A' && !(file as Blob & { quick?: boolean }).quick) await new Promise((r) => setTimeout(r, 30));
      return fakeProcess(file);
    };
    const copy = item('a-copy.png', 'A');
    (copy.file as Blob & { quick?: boolean }).quick = true;
    const p = await runImport(
      [item('a.png', 'A'), item('b.png', 'B'), copy, item('c.png', 'C')],
      { process: slowFirst, commit: async (imgs) => void committed.push(...imgs), knownHashes: new Map() },
      { concurrency: 4 },
    );
    expect(p.skipped).toEqual([{ name: 'a-copy.png', reason: 'duplicate of a.png' }]);
    // and the batches commit in the order the files were given
    expect(committed.map((c) => c.record.name)).toEqual(['a.png', 'b.png', 'c.png']);
  });

  it('decodes at most a bounded number of files past one that is still decoding', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    const process = async (file: Blob) => {
      started++;
      if ((await file.text()) === 'slow') await gate;
      return fakeProcess(file);
    };
    const files = [item('slow.png', 'slow'), ...Array.from({ length: 200 }, (_, i) => item(`f${i}.png`, `F${i}`))];
    const run = runImport(files, { process, commit: async () => undefined, knownHashes: new Map() }, { concurrency: 4 });
    await new Promise((r) => setTimeout(r, 50));
    expect(started).toBeLessThan(100); // held by the window, not all 201
    release();
    expect((await run).imported).toBe(201);
  });

  it('says in which folder each skipped file was', async () => {
    const inFolder = (path: string, name: string, content: string): ImportItem => ({ ...item(name, content), path });
    const p = await runImport(
      [inFolder('trip/day1', 'a.png', 'A'), inFolder('trip/day2', 'a.png', 'A'), inFolder('trip/day2', 'bad.png', 'corrupt'), item('loose.txt', 'x', 'text/plain')],
      { process: fakeProcess, commit: async () => undefined, knownHashes: new Map() },
      { concurrency: 1 },
    );
    expect(p.skipped).toEqual(expect.arrayContaining([
      { name: 'a.png', path: 'trip/day2', reason: 'duplicate of trip/day1/a.png' },
      { name: 'bad.png', path: 'trip/day2', reason: 'cannot decode image (corrupt)' },
      { name: 'loose.txt', reason: 'unsupported file type' },
    ]));
  });

  it('stops cleanly and reports when the storage quota is exceeded', async () => {
    const known = new Map<string, string>();
    let calls = 0;
    const p = await runImport(
      Array.from({ length: 10 }, (_, i) => item(`${i}.png`, `c${i}`)),
      { process: fakeProcess, commit: async () => { calls++; if (calls > 1) throw new StorageQuotaError(new DOMException('full', 'QuotaExceededError')); }, knownHashes: known },
      { concurrency: 1, commitMs: 0 },
    );
    expect(p.imported).toBe(1);
    expect(p.quotaError).toMatch(/storage is full/i);
    expect(p.skipped.some((s) => s.reason === 'storage full')).toBe(true);
    expect(known.size).toBe(1); // the failed image's hash is free again
  });

  it('a batch the quota refuses is skipped whole, and its hashes are free again', async () => {
    const known = new Map<string, string>();
    const batches: string[][] = [];
    const p = await runImport(
      Array.from({ length: 9 }, (_, i) => item(`${i}.png`, `q${i}`)),
      {
        process: fakeProcess,
        commit: async (imgs) => {
          batches.push(imgs.map((i) => i.record.name));
          if (batches.length > 1) throw new StorageQuotaError(new DOMException('full', 'QuotaExceededError'));
        },
        knownHashes: known,
      },
      { concurrency: 1, commitMs: 60_000, commitBatch: 3 },
    );
    expect(batches[0]).toEqual(['0.png', '1.png', '2.png']);
    expect(p.imported).toBe(3);
    expect(p.skipped.filter((s) => s.reason === 'storage full').map((s) => s.name)).toEqual(batches.slice(1).flat());
    expect(batches[1]).toEqual(['3.png', '4.png', '5.png']);
    expect([...known.keys()].sort()).toEqual(['h:q0', 'h:q1', 'h:q2']);
  });

  it('commits images that finish close together in one batch, at most commitBatch at a time', async () => {
    const sizes: number[] = [];
    const p = await runImport(
      Array.from({ length: 10 }, (_, i) => item(`${i}.png`, `b${i}`)),
      { process: fakeProcess, commit: async (imgs) => void sizes.push(imgs.length), knownHashes: new Map() },
      { concurrency: 2, commitMs: 60_000, commitBatch: 4 },
    );
    expect(p.imported).toBe(10);
    expect(sizes).toEqual([4, 4, 2]); // the last, short batch is committed when the files run out
  });

  it('commits a waiting image after commitMs while later files still decode', async () => {
    const events: string[] = [];
    await runImport(
      Array.from({ length: 4 }, (_, i) => item(`${i}.png`, `s${i}`)),
      {
        process: async (f) => {
          const img = await fakeProcess(f);
          events.push(`decoded ${img.hash}`);
          await new Promise((r) => setTimeout(r, 40));
          return img;
        },
        commit: async (imgs) => void events.push(`commit ${imgs.length}`),
        knownHashes: new Map(),
      },
      { concurrency: 1, commitMs: 10, commitBatch: 100 },
    );
    // each image is committed before the next one finishes decoding, not all at the end
    expect(events).toEqual(['decoded h:s0', 'decoded h:s1', 'commit 1', 'decoded h:s2', 'commit 1', 'decoded h:s3', 'commit 1', 'commit 1']);
  });

  it('reports progress at most once per reportMs, plus after each commit and at the end', async () => {
    let t = 0;
    const reports: { at: number; done: number; imported: number; finished: boolean }[] = [];
    const committed: number[] = [];
    const p = await runImport(
      Array.from({ length: 20 }, (_, i) => item(`${i}.png`, `r${i}`)),
      {
        process: async (f) => {
          t += 10;
          return fakeProcess(f);
        },
        commit: async (imgs) => void committed.push(imgs.length),
        knownHashes: new Map(),
        onProgress: (r) => reports.push({ at: r.elapsedMs, done: r.done, imported: r.imported, finished: r.finished }),
        now: () => t,
      },
      { concurrency: 1, reportMs: 50, commitMs: 60_000, commitBatch: 10 },
    );
    expect(p.imported).toBe(20);
    expect(committed).toEqual([10, 10]);
    // 200 ms of fake time for 20 files: a handful of reports, not one per file
    expect(reports.length).toBeGreaterThanOrEqual(4);
    expect(reports.length).toBeLessThanOrEqual(7);
    reports.forEach((r, i) => {
      const prev = reports[i - 1];
      // only a commit (imported moved) or the end may come sooner than reportMs after the last one
      if (prev && r.imported === prev.imported && !r.finished) expect(r.at - prev.at).toBeGreaterThanOrEqual(50);
      if (prev) expect(r.imported).toBeGreaterThanOrEqual(prev.imported);
    });
    expect(reports.at(-1)).toMatchObject({ done: 20, imported: 20, finished: true });
  });

  it('cancels', async () => {
    const ctrl = new AbortController();
    const p = await runImport(
      Array.from({ length: 50 }, (_, i) => item(`${i}.png`, `x${i}`)),
      { process: async (f) => { if ((await f.text()) === 'x3') ctrl.abort(); return fakeProcess(f); }, commit: async () => {}, knownHashes: new Map() },
      { concurrency: 1, signal: ctrl.signal },
    );
    expect(p.cancelled).toBe(true);
    expect(p.done).toBeLessThan(10);
  });

  it('applies XMP sidecars (NAME.xmp and NAME.ext.xmp) and does not report them as files', async () => {
    const committed: NewImage[] = [];
    const exported = buildXmp({ ...makeRecord(await fakeProcess(new Blob(['x'])), { name: 'x.png', bytes: 1, origin: 'imported' }), rating: 4, tags: [{ name: 'sea', score: null, source: 'ai' }, { name: 'boat', score: null, source: 'user' }] });
    const lr = '<x:xmpmeta><rdf:RDF><rdf:Description><xmp:Rating>-1</xmp:Rating><dc:subject><rdf:Bag><rdf:li>blurry</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>';
    const inDir = (it: ImportItem, path: string): ImportItem => ({ ...it, path });
    const p = await runImport(
      [
        item('a.png', 'A'),
        item('a.xmp', exported, 'application/rdf+xml'),
        item('B.JPG.xmp', lr, ''),
        item('b.jpg', 'B', 'image/jpeg'),
        item('c.png', 'C'),
        inDir(item('a.png', 'A2'), 'sub'), // same name elsewhere: not a.xmp's image
        item('orphan.xmp', exported, ''),
      ],
      { process: fakeProcess, commit: async (imgs) => void committed.push(...imgs), knownHashes: new Map() },
      { concurrency: 2 },
    );
    expect(p).toMatchObject({ total: 4, done: 4, imported: 4, skipped: [] });
    const byKey = new Map(committed.map((c) => [`${c.record.path ?? ''}/${c.record.name}`, c.record]));
    expect(byKey.get('/a.png')).toMatchObject({ rating: 4, flag: 'none', tags: [{ name: 'sea', score: null, source: 'user' }, { name: 'boat', score: null, source: 'user' }] });
    expect(byKey.get('/b.jpg')).toMatchObject({ rating: 0, flag: 'reject', tags: [{ name: 'blurry', score: null, source: 'user' }] });
    expect(byKey.get('/c.png')).toMatchObject({ rating: 0, flag: 'none', tags: [] });
    expect(byKey.get('sub/a.png')).toMatchObject({ rating: 0, tags: [] });
  });
});
