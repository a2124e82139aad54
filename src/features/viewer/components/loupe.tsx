import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import type { Flag, ImageRecord, Rating } from '@/lib/db/schema';
import { IconButton } from '@/components/ui/button';
import { ChevronLeftIcon, ChevronRightIcon, FlagIcon, GridIcon, InfoIcon, MaximizeIcon, PlayIcon, RejectIcon, StarIcon } from '@/components/ui/icons';
import { useElementSize } from '@/components/ui/use-element-size';
import { keepOriginals, loadOriginal, loadThumbBitmap } from '../utils/bitmap-cache';
import { doubleTapZoom, isZoomedIn, pinchUpdate, swipeStep, type Pt } from '../utils/gestures';
import { actualSize, fit, pan, wheelFactor, zoomAt, type ViewBox } from '../utils/zoom';
import { FilmStrip } from './film-strip';

export interface LoupeProps {
  order: readonly string[];
  byId: ReadonlyMap<string, ImageRecord>;
  id: string;
  onNavigate: (id: string) => void;
  onBack: () => void;
  onSlideshow: () => void;
  /** phones: the loupe fills the screen, with its own bars and no film strip */
  compact?: boolean;
  /** a finger, not a mouse: rating and flag buttons big enough to hit (44 px) under the image */
  touch?: boolean;
  onRate?: (r: Rating) => void;
  onFlag?: (f: Flag) => void;
  /** opens the info panel (on phones a bottom sheet) */
  onInfo?: () => void;
  infoOpen?: boolean;
}

const DOUBLE_TAP_MS = 300;

/**
 * The full image on a canvas: fit / 100%, wheel zoom at the cursor, drag to pan, double-click
 * resets. Fingers: swipe for the next or previous image, pinch to zoom, double tap to zoom in or
 * back to fit, one finger pans a zoomed image.
 */
export function Loupe({ order, byId, id, onNavigate, onBack, onSlideshow, compact = false, touch = false, onRate, onFlag, onInfo, infoOpen = false }: LoupeProps) {
  const rec = byId.get(id);
  const index = order.indexOf(id);
  const wrapRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const { width, height } = useElementSize(wrapRef);
  const [bitmap, setBitmap] = useState<{ id: string; bmp: ImageBitmap; full: boolean } | null>(null);
  const [view, setView] = useState<ViewBox | null>(null);
  /** how far a one-finger swipe has dragged the image sideways, drawn as it moves */
  const [swipeDx, setSwipeDx] = useState(0);
  const pointers = useRef(new Map<number, Pt & { type: string }>());
  const gesture = useRef<{ start: Pt; at: number; pinched: boolean; panning: boolean } | null>(null);
  const lastTap = useRef<{ at: number; x: number; y: number } | null>(null);

  const img = rec ? { w: rec.width, h: rec.height } : { w: 1, h: 1 };
  const canvas = { w: width, h: height };
  const prevId = index > 0 ? order[index - 1] : undefined;
  const nextId = index >= 0 && index < order.length - 1 ? order[index + 1] : undefined;

  // load: thumbnail first (instant), then the original; neighbours are decoded in the background
  useEffect(() => {
    let live = true;
    setView(null);
    setSwipeDx(0);
    const neighbours = [order[index - 1], order[index + 1]].filter((x): x is string => !!x);
    keepOriginals([id, ...neighbours]);
    void loadThumbBitmap(id).then((bmp) => {
      if (live && bmp) setBitmap((cur) => (cur?.id === id && cur.full ? cur : { id, bmp, full: false }));
    });
    void loadOriginal(id).then((bmp) => {
      if (live && bmp) setBitmap({ id, bmp, full: true });
    });
    return () => {
      live = false;
    };
  }, [id, index, order]);

  const current = view ?? (width && height ? fit(img, canvas) : null);
  // Pointer events can arrive several per frame (two fingers move at once): they chain on the
  // latest view, not on the one of the last render.
  const liveView = useRef<ViewBox | null>(null);
  liveView.current = view;
  const lastType = useRef('mouse');
  const update = (v: ViewBox | null) => {
    liveView.current = v;
    setView(v);
  };
  const live = () => liveView.current ?? current;

  useEffect(() => {
    const c = canvasRef.current;
    if (!c || !current || !width) return;
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(width * dpr)) c.width = Math.round(width * dpr);
    if (c.height !== Math.round(height * dpr)) c.height = Math.round(height * dpr);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    if (bitmap?.id !== id) return;
    ctx.imageSmoothingEnabled = current.scale < 2;
    ctx.imageSmoothingQuality = 'high';
    ctx.globalAlpha = swipeDx ? Math.max(0.4, 1 - Math.abs(swipeDx) / width) : 1;
    ctx.drawImage(bitmap.bmp, current.x + swipeDx, current.y, img.w * current.scale, img.h * current.scale);
  });

  const onWheel = useCallback(
    (e: WheelEvent) => {
      e.preventDefault();
      if (!current) return;
      const r = canvasRef.current!.getBoundingClientRect();
      update(zoomAt(live() ?? current, wheelFactor(e.deltaY), e.clientX - r.left, e.clientY - r.top, img, canvas));
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [current, img.w, img.h, width, height],
  );
  useEffect(() => {
    const c = canvasRef.current;
    c?.addEventListener('wheel', onWheel, { passive: false });
    return () => c?.removeEventListener('wheel', onWheel);
  }, [onWheel]);
  // Fingers on the image are ours: a touch the page consumes starts no browser fling, and a fling
  // would swallow the next tap (a star right after a swipe) while it is being cancelled.
  useEffect(() => {
    const c = canvasRef.current;
    const consume = (e: TouchEvent) => e.cancelable && e.preventDefault();
    c?.addEventListener('touchmove', consume, { passive: false });
    return () => c?.removeEventListener('touchmove', consume);
  }, []);

  if (!rec) return null;
  const zoomPct = current ? Math.round(current.scale * 100) : 0;
  const isFit = !view;
  const local = (e: { clientX: number; clientY: number }): Pt => {
    const r = canvasRef.current!.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };

  const onPointerDown = (e: React.PointerEvent<HTMLCanvasElement>) => {
    e.currentTarget.setPointerCapture(e.pointerId);
    lastType.current = e.pointerType;
    const p = local(e);
    pointers.current.set(e.pointerId, { ...p, type: e.pointerType });
    const v = live();
    if (pointers.current.size === 1) gesture.current = { start: p, at: e.timeStamp, pinched: false, panning: !!v && isZoomedIn(v, img, canvas) };
    else if (gesture.current) {
      gesture.current.pinched = true;
      setSwipeDx(0);
    }
  };
  const onPointerMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const prev = pointers.current.get(e.pointerId);
    const v = live();
    if (!prev || !v) return;
    const p = local(e);
    if (pointers.current.size === 2) {
      const [a, b] = [...pointers.current.entries()];
      const before: [Pt, Pt] = [a![1], b![1]];
      pointers.current.set(e.pointerId, { ...p, type: prev.type });
      const after: [Pt, Pt] = [pointers.current.get(a![0])!, pointers.current.get(b![0])!];
      update(pinchUpdate(v, before, after, img, canvas));
      return;
    }
    pointers.current.set(e.pointerId, { ...p, type: prev.type });
    const g = gesture.current;
    // a mouse always drags; a finger drags a zoomed image and swipes a fitted one
    if (prev.type === 'mouse' || g?.panning) {
      const dx = p.x - prev.x;
      const dy = p.y - prev.y;
      if (dx || dy) update(pan(v, dx, dy, img, canvas));
    } else if (g && !g.pinched) setSwipeDx(p.x - g.start.x);
  };
  const onPointerEnd = (e: React.PointerEvent<HTMLCanvasElement>, cancelled = false) => {
    const p = pointers.current.get(e.pointerId);
    pointers.current.delete(e.pointerId);
    const g = gesture.current;
    if (!p || !g || pointers.current.size > 0) return;
    gesture.current = null;
    setSwipeDx(0);
    // pinched smaller than the screen: back to fit
    const v = live();
    if (g.pinched && v && !isZoomedIn(v, img, canvas) && v.scale < fit(img, canvas).scale) update(null);
    if (cancelled || p.type === 'mouse') return;
    const end = local(e);
    const dx = end.x - g.start.x;
    const dy = end.y - g.start.y;
    if (!g.pinched && !g.panning) {
      const step = swipeStep(dx, dy, e.timeStamp - g.at);
      if (step === 1 && nextId) return onNavigate(nextId);
      if (step === -1 && prevId) return onNavigate(prevId);
    }
    // a tap: a second one soon after, near the first, zooms
    if (!g.pinched && Math.hypot(dx, dy) < 10) {
      const t = lastTap.current;
      if (t && e.timeStamp - t.at < DOUBLE_TAP_MS && Math.hypot(end.x - t.x, end.y - t.y) < 30 && v) {
        lastTap.current = null;
        const next = doubleTapZoom(v, end.x, end.y, img, canvas);
        update(isZoomedIn(next, img, canvas) ? next : null);
      } else lastTap.current = { at: e.timeStamp, x: end.x, y: end.y };
    }
  };

  // a narrow loupe (a tablet beside the info panel) keeps the essentials in its toolbar
  const narrow = width > 0 && width < 560;
  const counter = <span className="shrink-0 tabular-nums" data-testid="loupe-counter">{index + 1} / {order.length}</span>;
  const cull = (touch || compact) && onRate && onFlag;

  return (
    <div className={`flex h-full min-w-0 flex-1 flex-col bg-neutral-950 ${compact ? 'fixed inset-0 z-30 h-dvh' : ''}`} data-testid="loupe" data-id={id} data-loaded={bitmap?.id === id && bitmap.full ? 'true' : 'false'} data-compact={compact || undefined}>
      {compact ? (
        <div className="flex h-14 shrink-0 items-center gap-1 border-b border-neutral-800 px-1 pt-[env(safe-area-inset-top)] text-xs text-neutral-400">
          <TouchButton label="Back to the grid" onClick={onBack} testId="loupe-back"><ChevronLeftIcon size={22} /></TouchButton>
          <div className="min-w-0 flex-1">
            <div className="truncate text-sm font-medium text-neutral-200" data-testid="loupe-name">{rec.name}</div>
            <div className="flex gap-2">{counter}<span data-testid="zoom-level">{zoomPct}%</span></div>
          </div>
          <TouchButton label="Slideshow" onClick={onSlideshow}><PlayIcon size={20} /></TouchButton>
          {onInfo && <TouchButton label="Details" active={infoOpen} onClick={onInfo} testId="loupe-info"><InfoIcon size={20} /></TouchButton>}
        </div>
      ) : (
        <div className="flex h-10 shrink-0 items-center gap-2 border-b border-neutral-800 px-2 text-xs text-neutral-400 pointer-coarse:h-12">
          <IconButton label="Back to grid (G)" onClick={onBack}>
            <GridIcon />
          </IconButton>
          <span className="truncate font-medium text-neutral-200" data-testid="loupe-name">{rec.name}</span>
          {!narrow && <span className="shrink-0">{rec.width}×{rec.height}</span>}
          <span className="ml-auto" />
          {counter}
          <div className={`shrink-0 overflow-hidden rounded-md border border-neutral-700 ${narrow ? 'hidden' : 'flex'}`}>
            <button type="button" data-testid="zoom-fit" onClick={() => setView(null)} className={`px-2.5 py-1 ${isFit ? 'bg-neutral-700 text-neutral-50' : 'hover:bg-neutral-800'}`}>Fit</button>
            <button type="button" data-testid="zoom-100" onClick={() => current && setView(actualSize(current, img, canvas))} className={`px-2.5 py-1 ${!isFit && zoomPct === 100 ? 'bg-neutral-700 text-neutral-50' : 'hover:bg-neutral-800'}`}>100%</button>
          </div>
          <span className="w-10 shrink-0 text-right tabular-nums" data-testid="zoom-level">{zoomPct}%</span>
          {!(narrow && touch) && (
            <>
              <IconButton label="Previous (←)" disabled={!prevId} onClick={() => prevId && onNavigate(prevId)}>
                <ChevronLeftIcon />
              </IconButton>
              <IconButton label="Next (→)" disabled={!nextId} onClick={() => nextId && onNavigate(nextId)}>
                <ChevronRightIcon />
              </IconButton>
            </>
          )}
          <IconButton label="Slideshow (S)" onClick={onSlideshow}>
            <PlayIcon />
          </IconButton>
          <IconButton label="Fit (double-click)" onClick={() => setView(null)} active={isFit}>
            <MaximizeIcon />
          </IconButton>
        </div>
      )}
      <div ref={wrapRef} className="relative min-h-0 flex-1 overflow-hidden">
        <canvas
          ref={canvasRef}
          data-testid="loupe-canvas"
          data-scale={current ? current.scale.toFixed(4) : ''}
          className={`absolute inset-0 h-full w-full touch-none ${current && (img.w * current.scale > width || img.h * current.scale > height) ? 'cursor-grab active:cursor-grabbing' : 'cursor-zoom-in'}`}
          onDoubleClick={() => lastType.current === 'mouse' && update(null)}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={(e) => onPointerEnd(e)}
          onPointerCancel={(e) => onPointerEnd(e, true)}
        />
        {bitmap?.id === id && !bitmap.full && <div className="absolute top-3 left-3 rounded bg-black/60 px-2 py-1 text-[11px] text-neutral-300">Loading full resolution…</div>}
      </div>
      {cull && <CullBar rec={rec} onRate={onRate} onFlag={onFlag} />}
      {!compact && <FilmStrip order={order} index={index} byId={byId} onPick={onNavigate} />}
    </div>
  );
}

function TouchButton({ label, onClick, children, active, testId }: { label: string; onClick: () => void; children: ReactNode; active?: boolean; testId?: string }) {
  return (
    <button type="button" aria-label={label} title={label} aria-pressed={active} onClick={onClick} data-testid={testId} className={`flex h-11 w-11 shrink-0 items-center justify-center rounded-lg ${active ? 'bg-neutral-800 text-amber-300' : 'text-neutral-300 active:bg-neutral-800'}`}>
      {children}
    </button>
  );
}

/** Rating and flags by touch, under the image: every target at least 44 px. */
function CullBar({ rec, onRate, onFlag }: { rec: ImageRecord; onRate: (r: Rating) => void; onFlag: (f: Flag) => void }) {
  return (
    <div className="flex shrink-0 items-center justify-center gap-1 border-t border-neutral-800 bg-neutral-925 px-1 py-1 pb-[max(0.25rem,env(safe-area-inset-bottom))]" data-testid="loupe-cull-bar" data-rating={rec.rating} data-flag={rec.flag}>
      <div className="flex" role="radiogroup" aria-label="Rating">
        {([1, 2, 3, 4, 5] as const).map((n) => (
          <button key={n} type="button" role="radio" aria-checked={rec.rating === n} aria-label={`${n} star${n > 1 ? 's' : ''}`} data-testid={`cull-rate-${n}`} onClick={() => onRate(rec.rating === n ? 0 : n)} className={`flex h-11 w-11 items-center justify-center rounded-lg ${n <= rec.rating ? 'text-amber-300' : 'text-neutral-600'}`}>
            <StarIcon size={22} filled={n <= rec.rating} />
          </button>
        ))}
      </div>
      <span className="mx-1 h-6 w-px bg-neutral-800" />
      <button type="button" aria-label="Pick" aria-pressed={rec.flag === 'pick'} data-testid="cull-pick" onClick={() => onFlag(rec.flag === 'pick' ? 'none' : 'pick')} className={`flex h-11 w-11 items-center justify-center rounded-lg ${rec.flag === 'pick' ? 'bg-emerald-500/15 text-emerald-400' : 'text-neutral-500'}`}>
        <FlagIcon size={20} filled={rec.flag === 'pick'} />
      </button>
      <button type="button" aria-label="Reject" aria-pressed={rec.flag === 'reject'} data-testid="cull-reject" onClick={() => onFlag(rec.flag === 'reject' ? 'none' : 'reject')} className={`flex h-11 w-11 items-center justify-center rounded-lg ${rec.flag === 'reject' ? 'bg-red-500/15 text-red-400' : 'text-neutral-500'}`}>
        <RejectIcon size={20} />
      </button>
    </div>
  );
}
