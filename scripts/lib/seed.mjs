// Seeds synthetic records straight into the app's IndexedDB stores (bench and e2e).
// `seedLibrary` runs IN THE PAGE (pass it to page.evaluate); keep it self-contained.
export async function seedLibrary({ n, batch = 5000, start = 0, thumbs: withThumbs = true, dupEvery = 0 }) {
  const open = (name, store) =>
    new Promise((resolve, reject) => {
      const r = indexedDB.open(name);
      r.onupgradeneeded = () => r.result.createObjectStore(store);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  const putAll = (db, store, entries) =>
    new Promise((resolve, reject) => {
      const tx = db.transaction(store, 'readwrite');
      const os = tx.objectStore(store);
      for (const [k, v] of entries) os.put(v, k);
      tx.oncomplete = () => resolve();
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  const meta = await open('atelier-meta', 'meta');
  const thumbs = await open('atelier-thumbs', 'thumbs');
  // Thumbnails the size imports make (384 px long edge, WebP), a few distinct ones shared
  // round-robin: decoding and scaling cost what real ones do, while 100k stay quick to seed.
  const variants = [];
  for (let v = 0; v < 8; v++) {
    const c = new OffscreenCanvas(384, 288);
    const ctx = c.getContext('2d');
    const g = ctx.createLinearGradient(0, 0, 384, 288);
    g.addColorStop(0, `hsl(${v * 45} 45% 30%)`);
    g.addColorStop(1, `hsl(${v * 45 + 120} 60% 55%)`);
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, 384, 288);
    for (let s = 0; s < 6; s++) {
      ctx.fillStyle = `hsl(${(v * 45 + s * 50) % 360} 55% ${35 + s * 6}% / 0.7)`;
      ctx.beginPath();
      ctx.arc(40 + ((s * 67 + v * 31) % 300), 40 + ((s * 43 + v * 17) % 210), 20 + s * 9, 0, Math.PI * 2);
      ctx.fill();
    }
    variants.push(await c.convertToBlob({ type: 'image/webp', quality: 0.75 }));
  }
  const words = ['harbour', 'mountain', 'portrait', 'street', 'forest', 'sunset', 'cat', 'city', 'beach', 'snow', 'night', 'macro'];
  const now = Date.now();
  // Perceptual hashes: the seeded thumbnails are a few shared placeholders, so each record gets a
  // hash of its own (seeded, random) instead of the backfill hashing the placeholders; every
  // `dupEvery`-th record is a near copy (2 bits off) of the one before, a re-encoded duplicate.
  let a = 0x9e3779b9;
  const word = () => ((a = (Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0), a.toString(16).padStart(8, '0'));
  let prevHash = '';
  const phashOf = (k) => {
    const fresh = word() + word();
    if (dupEvery && k % dupEvery === 1 && prevHash) {
      const flipped = (parseInt(prevHash.slice(14), 16) ^ 0x81).toString(16).padStart(2, '0');
      prevHash = prevHash.slice(0, 14) + flipped;
    } else prevHash = fresh;
    return prevHash;
  };
  const t0 = performance.now();
  for (let i = start; i < start + n; i += batch) {
    const recs = [];
    const th = [];
    for (let k = i; k < Math.min(start + n, i + batch); k++) {
      const id = `seed-${String(k).padStart(7, '0')}`;
      const w1 = words[k % words.length];
      const w2 = words[(k * 7 + 3) % words.length];
      recs.push([id, {
        id, hash: `seedhash-${k}`, name: `IMG_${String(k).padStart(6, '0')}.jpg`, mime: 'image/jpeg', bytes: 2_400_000,
        width: 4000, height: 3000, addedAt: now - k * 1000, takenAt: now - k * 1500, origin: k % 10 === 0 ? 'generated' : 'imported',
        rating: k % 6, flag: k % 13 === 0 ? 'pick' : k % 17 === 0 ? 'reject' : 'none',
        tags: [{ name: w1, score: null, source: 'ai' }, { name: w2, score: null, source: 'ai' }],
        analysis: k % 3 === 0 ? { caption: `a ${w1} scene with ${w2} light, photo ${k}`, model: 'seed', at: now } : undefined,
        thumbW: 384, thumbH: 288, phash: phashOf(k),
      }]);
      th.push([id, variants[k % variants.length]]);
    }
    await Promise.all([putAll(meta, 'meta', recs), withThumbs ? putAll(thumbs, 'thumbs', th) : null]);
  }
  meta.close();
  thumbs.close();
  return performance.now() - t0;
}

/**
 * In the page: the newest `count` seeded records get an original of their own (`bytes` of
 * distinct pseudo-random bytes; the record's hash becomes its SHA-256, as an import's is), so
 * that sync has originals to upload. Returns the ms it took.
 */
export async function seedOriginals({ count, bytes }) {
  const open = (name, store) => new Promise((resolve, reject) => {
    const r = indexedDB.open(name);
    r.onupgradeneeded = () => r.result.createObjectStore(store);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const done = (tx) => new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
  const t0 = performance.now();
  const meta = await open('atelier-meta', 'meta');
  const originalsDb = await open('atelier-originals', 'originals');
  const ids = Array.from({ length: count }, (_, k) => `seed-${String(k).padStart(7, '0')}`);
  const recs = await new Promise((resolve, reject) => {
    const os = meta.transaction('meta').objectStore('meta');
    const outRecs = [];
    ids.forEach((id, i) => {
      const r = os.get(id);
      r.onsuccess = () => (outRecs[i] = r.result);
      r.onerror = () => reject(r.error);
    });
    os.transaction.oncomplete = () => resolve(outRecs);
  });
  const blobs = [];
  for (let i = 0; i < count; i++) {
    if (!recs[i]) continue;
    const buf = new Uint8Array(bytes);
    for (let o = 0; o < bytes; o += 65536) crypto.getRandomValues(buf.subarray(o, Math.min(bytes, o + 65536)));
    const sha = [...new Uint8Array(await crypto.subtle.digest('SHA-256', buf))].map((b) => b.toString(16).padStart(2, '0')).join('');
    recs[i] = { ...recs[i], hash: sha, bytes };
    blobs.push([ids[i], new Blob([buf], { type: 'image/jpeg' })]);
  }
  const txO = originalsDb.transaction('originals', 'readwrite');
  for (const [id, blob] of blobs) txO.objectStore('originals').put(blob, id);
  await done(txO);
  const txM = meta.transaction('meta', 'readwrite');
  for (const r of recs) if (r) txM.objectStore('meta').put(r, r.id);
  await done(txM);
  meta.close();
  originalsDb.close();
  return performance.now() - t0;
}
