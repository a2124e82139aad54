// Grid geometry and the mapping that lets the grid go past the browser's maximum scroll height.
//
// Browsers cap a scroll container near 16.7 M CSS px (Chromium ~16,777,216 / 33.5 M, Firefox
// ~17.9 M); immich could reach only 28% of an 888k library. We never make one tall box: the
// rows live in overlapping SEGMENTS of at most MAX_SEGMENT_PX. The scroll box holds one segment;
// when the viewport nears a segment edge we swap to the neighbouring segment and shift scrollTop
// by exactly the rows the two segments are offset by, so nothing moves on screen. A scrubber shows
// (and sets) the position in the whole library.

export const MAX_SEGMENT_PX = 8_000_000;

export interface GridLayout {
  columns: number;
  /** square cell size, gap included */
  cell: number;
  gap: number;
  rowCount: number;
  /** px; also the row pitch */
  rowHeight: number;
  /** px left over on the right, to centre the grid */
  padX: number;
}

export function computeLayout(width: number, targetSize: number, count: number, gap = 6): GridLayout {
  const usable = Math.max(1, width - gap);
  const columns = Math.max(1, Math.round(usable / (targetSize + gap)));
  const cell = Math.max(24, Math.floor(usable / columns) - gap);
  const rowHeight = cell + gap;
  const padX = Math.max(0, Math.floor((usable - columns * rowHeight) / 2));
  return { columns, cell, gap, rowCount: Math.ceil(count / columns), rowHeight, padX };
}

export interface Segments {
  rowsPerSegment: number;
  /** rows between the starts of two neighbouring segments */
  stride: number;
  count: number;
}

export function segmentsFor(rowCount: number, rowHeight: number, maxPx = MAX_SEGMENT_PX): Segments {
  const rowsPerSegment = Math.max(2, Math.floor(maxPx / rowHeight));
  if (rowCount <= rowsPerSegment) return { rowsPerSegment: rowCount, stride: rowCount || 1, count: 1 };
  const stride = Math.floor(rowsPerSegment / 2);
  return { rowsPerSegment, stride, count: Math.ceil((rowCount - rowsPerSegment) / stride) + 1 };
}

export function segmentRange(seg: Segments, k: number, rowCount: number): { start: number; rows: number } {
  const start = k * seg.stride;
  return { start, rows: Math.max(0, Math.min(seg.rowsPerSegment, rowCount - start)) };
}

export interface ScrollPos {
  segment: number;
  /** scrollTop inside the current segment */
  top: number;
}

/**
 * Called on every scroll: switches segment when the viewport comes within a quarter stride of
 * an edge. The returned position shows exactly the same rows at the same screen position.
 */
export function rebase(pos: ScrollPos, seg: Segments, rowCount: number, rowHeight: number, viewport: number): ScrollPos {
  if (seg.count <= 1) return pos;
  const stridePx = seg.stride * rowHeight;
  const threshold = Math.max(rowHeight, stridePx / 4);
  let { segment, top } = pos;
  for (let guard = 0; guard < seg.count; guard++) {
    const { rows } = segmentRange(seg, segment, rowCount);
    if (segment < seg.count - 1 && top + viewport > rows * rowHeight - threshold) {
      segment++;
      top -= stridePx;
    } else if (segment > 0 && top < threshold) {
      segment--;
      top += stridePx;
    } else break;
  }
  return { segment, top };
}

/** Absolute px offset in the whole (virtual) library. */
export const absoluteTop = (pos: ScrollPos, seg: Segments, rowHeight: number) => pos.segment * seg.stride * rowHeight + pos.top;

/** Position that puts absolute offset `abs` at the top of the viewport. */
export function positionFor(abs: number, seg: Segments, rowCount: number, rowHeight: number, viewport: number): ScrollPos {
  const total = rowCount * rowHeight;
  const clamped = Math.max(0, Math.min(abs, Math.max(0, total - viewport)));
  if (seg.count <= 1) return { segment: 0, top: clamped };
  const stridePx = seg.stride * rowHeight;
  // centre the position in a segment: the one starting about half a stride above it
  const k = Math.max(0, Math.min(seg.count - 1, Math.floor((clamped - stridePx / 2) / stridePx)));
  return rebase({ segment: k, top: clamped - k * stridePx }, seg, rowCount, rowHeight, viewport);
}

/** Position that brings `row` into view (minimal movement) from the current one. */
export function revealRow(row: number, pos: ScrollPos, seg: Segments, rowCount: number, rowHeight: number, viewport: number): ScrollPos {
  const abs = absoluteTop(pos, seg, rowHeight);
  const rowTop = row * rowHeight;
  if (rowTop < abs) return positionFor(rowTop, seg, rowCount, rowHeight, viewport);
  if (rowTop + rowHeight > abs + viewport) return positionFor(rowTop + rowHeight - viewport, seg, rowCount, rowHeight, viewport);
  return pos;
}

/** Fraction 0..1 of the library scrolled (for the scrubber). */
export function scrollFraction(pos: ScrollPos, seg: Segments, rowCount: number, rowHeight: number, viewport: number): number {
  const max = rowCount * rowHeight - viewport;
  return max <= 0 ? 0 : Math.min(1, Math.max(0, absoluteTop(pos, seg, rowHeight) / max));
}

/** The index range of items for rows [first, last] (inclusive), clipped to count. */
export function itemRange(layout: GridLayout, firstRow: number, lastRow: number, count: number): [number, number] {
  return [Math.min(count, firstRow * layout.columns), Math.min(count, (lastRow + 1) * layout.columns)];
}
