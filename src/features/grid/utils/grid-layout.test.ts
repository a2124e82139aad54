import { describe, expect, it } from 'vitest';
import { absoluteTop, computeLayout, MAX_SEGMENT_PX, positionFor, rebase, revealRow, scrollFraction, segmentRange, segmentsFor } from './grid-layout';

describe('grid layout', () => {
  it('fits columns to the width and the target size', () => {
    const l = computeLayout(1206, 200, 1000);
    expect(l.columns).toBe(6);
    expect(l.cell).toBe(194);
    expect(l.rowHeight).toBe(200);
    expect(l.rowCount).toBe(167);
    expect(computeLayout(300, 200, 3).columns).toBe(1);
    expect(computeLayout(100, 400, 0)).toMatchObject({ columns: 1, rowCount: 0 });
  });

  it('keeps one segment for a library that fits one scroll box', () => {
    const s = segmentsFor(1000, 200);
    expect(s.count).toBe(1);
    expect(rebase({ segment: 0, top: 12345 }, s, 1000, 200, 800)).toEqual({ segment: 0, top: 12345 });
  });
});

describe('beyond the maximum scroll height', () => {
  // 1,000,000 images at 2 columns of 200 px: 100 M px, six times the browser cap
  const rowCount = 500_000;
  const rh = 200;
  const vp = 900;
  const seg = segmentsFor(rowCount, rh);

  it('never makes a segment taller than the cap', () => {
    expect(seg.count).toBeGreaterThan(10);
    for (let k = 0; k < seg.count; k++) expect(segmentRange(seg, k, rowCount).rows * rh).toBeLessThanOrEqual(MAX_SEGMENT_PX);
    const last = segmentRange(seg, seg.count - 1, rowCount);
    expect(last.start + last.rows).toBe(rowCount); // the last row is reachable
  });

  it('swaps segments while scrolling without moving anything on screen', () => {
    let pos = { segment: 0, top: 0 };
    let abs = 0;
    // scroll down the whole library in 40,000 px steps (flings)
    while (abs < rowCount * rh - vp) {
      const box = segmentRange(seg, pos.segment, rowCount).rows * rh;
      const top = Math.min(pos.top + 40_000, box - vp); // the browser clamps to the box
      const before = absoluteTop({ segment: pos.segment, top }, seg, rh);
      pos = rebase({ segment: pos.segment, top }, seg, rowCount, rh, vp);
      expect(absoluteTop(pos, seg, rh)).toBe(before); // same rows at the same place
      expect(pos.top).toBeGreaterThanOrEqual(0);
      expect(pos.top + vp).toBeLessThanOrEqual(segmentRange(seg, pos.segment, rowCount).rows * rh);
      if (before === abs) break;
      abs = before;
    }
    expect(abs).toBe(rowCount * rh - vp);
    expect(scrollFraction(pos, seg, rowCount, rh, vp)).toBe(1);
  });

  it('jumps anywhere (scrubber) and reveals any row', () => {
    for (const f of [0, 0.1234, 0.5, 0.9999, 1]) {
      const target = Math.round(f * (rowCount * rh - vp));
      const pos = positionFor(target, seg, rowCount, rh, vp);
      expect(absoluteTop(pos, seg, rh)).toBe(target);
      expect(pos.top + vp).toBeLessThanOrEqual(segmentRange(seg, pos.segment, rowCount).rows * rh);
    }
    const pos = revealRow(rowCount - 1, { segment: 0, top: 0 }, seg, rowCount, rh, vp);
    const abs = absoluteTop(pos, seg, rh);
    expect(abs).toBeLessThanOrEqual((rowCount - 1) * rh);
    expect(abs + vp).toBeGreaterThanOrEqual(rowCount * rh);
  });
});
