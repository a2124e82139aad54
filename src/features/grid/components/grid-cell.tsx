import { memo, useRef, type MouseEvent, type PointerEvent } from 'react';
import type { ImageRecord } from '@/lib/db/schema';
import { FlagIcon, RejectIcon, SparklesIcon } from '@/components/ui/icons';
import { useThumbInto } from '@/components/ui/use-thumb-url';
import { StackBadge } from './stack-badge';

export interface CellHandlers {
  onClick(id: string, mods: { shift: boolean; toggle: boolean }): void;
  onOpen(id: string): void;
  /** a finger's tap (a mouse click goes to onClick) */
  onTap(id: string): void;
  /** a finger held still on the cell: selection mode */
  onLongPress(id: string): void;
  /** open or close a near-duplicate stack */
  onStack(key: string): void;
}

const LONG_PRESS_MS = 450;
const MOVE_SLOP_PX = 10;

/** A cell's part in a near-duplicate stack, as primitives (the cell stays memoised). */
export interface CellStackProps {
  stackKey?: string;
  stackCount?: number;
  stackExpanded?: boolean;
  stackHead?: boolean;
}

export const GridCell = memo(function GridCell({ rec, size, selected, focused, blur, handlers, stackKey, stackCount = 0, stackExpanded = false, stackHead = false }: { rec: ImageRecord; size: number; selected: boolean; focused: boolean; blur: boolean; handlers: CellHandlers } & CellStackProps) {
  const img = useRef<HTMLImageElement>(null);
  useThumbInto(img, rec.id);
  // Touch: tap and long press, told apart here; a finger that moves is scrolling and does neither.
  const touch = useRef<{ x: number; y: number; timer: ReturnType<typeof setTimeout>; pressed: boolean } | null>(null);
  const lastPointer = useRef<string>('mouse');
  const onPointerDown = (e: PointerEvent) => {
    lastPointer.current = e.pointerType;
    if (e.pointerType !== 'touch') return;
    const t = { x: e.clientX, y: e.clientY, pressed: false, timer: setTimeout(() => {
      t.pressed = true;
      handlers.onLongPress(rec.id);
    }, LONG_PRESS_MS) };
    touch.current = t;
  };
  const endTouch = () => touch.current && clearTimeout(touch.current.timer);
  const onPointerMove = (e: PointerEvent) => {
    const t = touch.current;
    if (t && Math.hypot(e.clientX - t.x, e.clientY - t.y) > MOVE_SLOP_PX) endTouch();
  };
  const onClick = (e: MouseEvent) => {
    if (lastPointer.current === 'touch') {
      const pressed = touch.current?.pressed;
      endTouch();
      touch.current = null;
      if (!pressed) handlers.onTap(rec.id);
      return;
    }
    handlers.onClick(rec.id, { shift: e.shiftKey, toggle: e.ctrlKey || e.metaKey });
  };
  const rejected = rec.flag === 'reject';
  return (
    <div
      data-testid="grid-cell"
      data-id={rec.id}
      data-name={rec.name}
      data-selected={selected || undefined}
      data-rating={rec.rating}
      data-flag={rec.flag}
      data-nsfw={blur || undefined}
      data-stack={stackKey}
      data-stack-count={stackHead ? stackCount : undefined}
      role="gridcell"
      aria-selected={selected}
      title={rec.name}
      onClick={onClick}
      onDoubleClick={() => lastPointer.current !== 'touch' && handlers.onOpen(rec.id)}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={endTouch}
      onPointerCancel={() => {
        endTouch();
        touch.current = null;
      }}
      onContextMenu={(e) => lastPointer.current === 'touch' && e.preventDefault()}
      className={`group relative cursor-pointer overflow-hidden rounded-md bg-neutral-900 select-none [-webkit-touch-callout:none] [contain:strict] will-change-transform ${selected ? 'ring-2 ring-amber-400' : stackExpanded ? 'ring-1 ring-violet-500/70' : 'ring-1 ring-neutral-800 hover:ring-neutral-600'} ${focused ? 'outline-2 outline-offset-2 outline-amber-200/70' : ''}`}
      style={{ width: size, height: size }}
    >
      <img
        ref={img}
        alt=""
        draggable={false}
        decoding="async"
        className={`peer absolute inset-0 h-full w-full object-contain opacity-0 ${rejected ? 'grayscale data-loaded:opacity-40' : 'data-loaded:opacity-100'} ${blur ? 'scale-110 blur-xl' : ''}`}
      />
      <div className="absolute inset-2 -z-10 rounded bg-neutral-800/60 peer-data-loaded:hidden" />
      {blur && <span className="absolute inset-0 flex items-center justify-center text-[10px] font-semibold tracking-widest text-neutral-300 uppercase">NSFW</span>}
      {(rec.rating > 0 || rec.flag !== 'none' || rec.origin === 'generated') && (
      <div className="pointer-events-none absolute inset-x-1 bottom-1 flex items-end justify-between">
        <span className={`rounded bg-black/60 text-[11px] leading-none tracking-tight text-amber-300 ${rec.rating ? 'px-1 py-0.5' : ''}`} data-testid="cell-rating" aria-label={rec.rating ? `${rec.rating} stars` : undefined}>
          {rec.rating > 0 && (size >= 130 ? '★'.repeat(rec.rating) : `${rec.rating}★`)}
        </span>
        <span className={`flex items-center gap-1 rounded bg-black/60 ${rec.flag !== 'none' || rec.origin === 'generated' ? 'px-1 py-0.5' : ''}`}>
          {rec.origin === 'generated' && <SparklesIcon size={12} className="text-violet-300" aria-label="generated" />}
          {rec.flag === 'pick' && <FlagIcon size={12} filled className="text-emerald-400" data-testid="cell-pick" />}
          {rejected && <RejectIcon size={12} className="text-red-400" data-testid="cell-reject" />}
        </span>
      </div>
      )}
      {stackHead && stackKey && <StackBadge count={stackCount} expanded={stackExpanded} onToggle={() => handlers.onStack(stackKey)} />}
      {size >= 140 && (
        <div className="pointer-events-none absolute inset-x-0 top-0 hidden truncate bg-black/60 px-1.5 py-0.5 text-[11px] text-neutral-200 group-hover:block">{rec.name}</div>
      )}
    </div>
  );
});
