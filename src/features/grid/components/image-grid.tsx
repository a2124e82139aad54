import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactElement, type UIEvent } from 'react';
import { List, useListRef, type RowComponentProps } from 'react-window';
import type { ImageRecord } from '@/lib/db/schema';
import { isNsfw } from '@/lib/db/nsfw';
import { useElementSize } from '@/components/ui/use-element-size';
import { absoluteTop, computeLayout, positionFor, rebase, revealRow, scrollFraction, segmentRange, segmentsFor, type ScrollPos } from '../utils/grid-layout';
import { noteCellRate } from '@/lib/db/thumb-urls';
import { GridCell, type CellHandlers } from './grid-cell';
import type { GridStack } from './stack-badge';

export interface ImageGridProps {
  order: readonly string[];
  byId: ReadonlyMap<string, ImageRecord>;
  selected: ReadonlySet<string>;
  focus: string | null;
  thumbSize: number;
  showNsfw: boolean;
  /** the NSFW threshold setting (see lib/db/nsfw.ts) */
  nsfwThreshold: number;
  onClick: CellHandlers['onClick'];
  onOpen: CellHandlers['onOpen'];
  onTap: CellHandlers['onTap'];
  onLongPress: CellHandlers['onLongPress'];
  /** the grid tells the keyboard how many items a row holds (arrow up/down) */
  onColumns?: (columns: number) => void;
  /** near-duplicate stacks: an image's stack, and opening or closing one */
  stackOf?: (id: string) => GridStack | undefined;
  onStack?: (key: string) => void;
}

interface RowProps {
  segStart: number;
  columns: number;
  cell: number;
  gap: number;
  padX: number;
  order: readonly string[];
  byId: ReadonlyMap<string, ImageRecord>;
  selected: ReadonlySet<string>;
  focus: string | null;
  showNsfw: boolean;
  nsfwThreshold: number;
  handlers: CellHandlers;
  stackOf: ((id: string) => GridStack | undefined) | undefined;
}

function Row({ index, style, segStart, columns, cell, gap, padX, order, byId, selected, focus, showNsfw, nsfwThreshold, handlers, stackOf }: RowComponentProps<RowProps>): ReactElement {
  const start = (segStart + index) * columns;
  const cells: ReactElement[] = [];
  for (let i = start; i < Math.min(start + columns, order.length); i++) {
    const id = order[i]!;
    const rec = byId.get(id);
    if (!rec) continue;
    const st = stackOf?.(id);
    cells.push(<GridCell key={id} rec={rec} size={cell} selected={selected.has(id)} focused={focus === id} blur={!showNsfw && isNsfw(rec, nsfwThreshold)} handlers={handlers} {...(st ? { stackKey: st.key, stackCount: st.count, stackExpanded: st.expanded, stackHead: st.head } : {})} />);
  }
  return (
    <div style={{ ...style, display: 'flex', gap, paddingLeft: padX + gap, paddingTop: gap }} role="row">
      {cells}
    </div>
  );
}

/**
 * Virtualized grid (react-window List of rows). Rows live in segments no taller than the
 * browser's scroll cap (see utils/grid-layout.ts); a scrubber covers the whole library.
 */
export function ImageGrid({ order, byId, selected, focus, thumbSize, showNsfw, nsfwThreshold, onClick, onOpen, onTap, onLongPress, onColumns, stackOf, onStack }: ImageGridProps) {
  const boxRef = useRef<HTMLDivElement>(null);
  const { width, height } = useElementSize(boxRef);
  const layout = useMemo(() => computeLayout(width || 800, thumbSize, order.length), [width, thumbSize, order.length]);
  const segments = useMemo(() => segmentsFor(layout.rowCount, layout.rowHeight), [layout.rowCount, layout.rowHeight]);
  const [pos, setPos] = useState<ScrollPos>({ segment: 0, top: 0 });
  const posRef = useRef(pos);
  const pendingTop = useRef<number | null>(null);
  const listRef = useListRef(null);
  const handlersRef = useRef({ onClick, onOpen, onTap, onLongPress, onStack });
  handlersRef.current = { onClick, onOpen, onTap, onLongPress, onStack };
  const handlers = useMemo<CellHandlers>(
    () => ({
      onClick: (id, m) => handlersRef.current.onClick(id, m),
      onOpen: (id) => handlersRef.current.onOpen(id),
      onTap: (id) => handlersRef.current.onTap(id),
      onLongPress: (id) => handlersRef.current.onLongPress(id),
      onStack: (key) => handlersRef.current.onStack?.(key),
    }),
    [],
  );

  useEffect(() => {
    onColumns?.(layout.columns);
  }, [layout.columns, onColumns]);

  // every programmatic move goes through one path: render the target segment, then set
  // scrollTop in a layout effect (before paint), so quick successive jumps never interleave
  const jump = useCallback((next: ScrollPos) => {
    posRef.current = next;
    pendingTop.current = next.top;
    setPos(next);
  }, []);

  useLayoutEffect(() => {
    const el = listRef.current?.element;
    if (el && pendingTop.current !== null) {
      el.scrollTop = pendingTop.current;
      pendingTop.current = null;
    }
  }, [pos, listRef]);

  // keep the first visible image in place when the column count or size changes
  const prevLayout = useRef(layout);
  useLayoutEffect(() => {
    const prev = prevLayout.current;
    prevLayout.current = layout;
    if (prev.columns === layout.columns && prev.rowHeight === layout.rowHeight) return;
    const firstItem = Math.floor(absoluteTop(posRef.current, segmentsFor(prev.rowCount, prev.rowHeight), prev.rowHeight) / prev.rowHeight) * prev.columns;
    jump(positionFor(Math.floor(firstItem / layout.columns) * layout.rowHeight, segments, layout.rowCount, layout.rowHeight, height));
  }, [layout, segments, height, jump]);

  // bring the keyboard focus into view
  useEffect(() => {
    if (!focus || !height) return;
    const idx = order.indexOf(focus);
    if (idx < 0) return;
    const next = revealRow(Math.floor(idx / layout.columns), posRef.current, segments, layout.rowCount, layout.rowHeight, height - layout.gap);
    if (next.segment !== posRef.current.segment || next.top !== posRef.current.top) jump(next);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [focus]);

  const lastScroll = useRef({ top: 0, at: 0, segment: 0 });
  const onScroll = (e: UIEvent<HTMLDivElement>) => {
    if (pendingTop.current !== null) return;
    const el = e.currentTarget;
    const cur = posRef.current;
    const t = e.timeStamp;
    const prev = lastScroll.current;
    if (prev.segment === cur.segment && t > prev.at) {
      noteCellRate(((Math.abs(el.scrollTop - prev.top) / layout.rowHeight) * layout.columns * 1000) / Math.max(8, t - prev.at));
    }
    lastScroll.current = { top: el.scrollTop, at: t, segment: cur.segment };
    const next = rebase({ segment: cur.segment, top: el.scrollTop }, segments, layout.rowCount, layout.rowHeight, el.clientHeight);
    if (next.segment !== cur.segment) jump(next);
    else {
      posRef.current = next;
      if (segments.count > 1) setPos(next); // the scrubber follows
    }
  };

  const range = segmentRange(segments, pos.segment, layout.rowCount);
  const rowProps: RowProps = { segStart: range.start, columns: layout.columns, cell: layout.cell, gap: layout.gap, padX: layout.padX, order, byId, selected, focus, showNsfw, nsfwThreshold, handlers, stackOf };
  const multi = segments.count > 1;

  return (
    <div ref={boxRef} className="relative h-full w-full" data-testid="grid" data-count={order.length} data-segments={segments.count}>
      {width > 0 && (
        <List
          listRef={listRef}
          rowComponent={Row}
          rowProps={rowProps}
          rowCount={range.rows + (pos.segment === segments.count - 1 ? 1 : 0) /* bottom padding row */}
          rowHeight={layout.rowHeight}
          overscanCount={2}
          onScroll={onScroll}
          style={{ height, width, scrollbarWidth: multi ? 'none' : 'thin', scrollbarColor: '#404040 transparent' }}
          role="grid"
          aria-rowcount={layout.rowCount}
          data-testid="grid-scroller"
        />
      )}
      {multi && <Scrubber fraction={scrollFraction(pos, segments, layout.rowCount, layout.rowHeight, height)} rows={layout.rowCount} onSeek={(f) => jump(positionFor(f * (layout.rowCount * layout.rowHeight - height), segments, layout.rowCount, layout.rowHeight, height))} />}
    </div>
  );
}

/** A library-wide scroll bar for libraries taller than one scroll box. */
function Scrubber({ fraction, rows, onSeek }: { fraction: number; rows: number; onSeek: (f: number) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const seek = (clientY: number) => {
    const r = ref.current!.getBoundingClientRect();
    onSeek(Math.min(1, Math.max(0, (clientY - r.top) / r.height)));
  };
  return (
    <div
      ref={ref}
      data-testid="grid-scrubber"
      className="absolute top-1 right-0.5 bottom-1 w-2.5 cursor-pointer rounded-full bg-neutral-800/60 hover:bg-neutral-800"
      onPointerDown={(e) => {
        e.currentTarget.setPointerCapture(e.pointerId);
        seek(e.clientY);
      }}
      onPointerMove={(e) => e.buttons === 1 && seek(e.clientY)}
      title={`row ${Math.round(fraction * rows)} of ${rows}`}
    >
      <div className="absolute right-0 left-0 h-8 rounded-full bg-neutral-500" style={{ top: `calc(${fraction * 100}% - ${fraction * 32}px)` }} />
    </div>
  );
}
