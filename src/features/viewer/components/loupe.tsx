import { useCallback, useEffect, useRef, useState } from 'react';
import type { ImageRecord } from '@/lib/db/schema';
import { IconButton } from '@/components/ui/button';
import { ChevronLeftIcon, ChevronRightIcon, GridIcon, MaximizeIcon, PlayIcon } from '@/components/ui/icons';
import { useElementSize } from '@/components/ui/use-element-size';
import { keepOriginals, loadOriginal, loadThumbBitmap } from '../utils/bitmap-cache';
import { actualSize, fit, pan, wheelFactor, zoomAt, type ViewBox } from '../utils/zoom';
import { FilmStrip } from './film-strip';

export interface LoupeProps {
  order: readonly string[];
  byId: ReadonlyMap<string, ImageRecord>;
  id: string;
  onNavigate: (id: string) => void;
  onBack: () => void;
  onSlideshow: () => void;
}

/** The full image on a canvas: fit / 100%, wheel zoom at the cursor, drag to pan, double-click resets. */
export function Loupe({ order, byId, id, onNavigate, onBack, onSlideshow }: LoupeProps) {
  const rec = byId.get(id);
  const index = order.indexOf(id);
  const wrapRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const { width, height } = useElementSize(wrapRef);
  const [bitmap, setBitmap] = useState<{ id: string; bmp: ImageBitmap; full: boolean } | null>(null);
  const [view, setView] = useState<ViewBox | null>(null);
  const drag = useRef<{ x: number; y: number } | null>(null);

  const img = rec ? { w: rec.width, h: rec.height } : { w: 1, h: 1 };
  const canvas = { w: width, h: height };

  // load: thumbnail first (instant), then the original; neighbours are decoded in the background
  useEffect(() => {
    let live = true;
    setView(null);
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
    ctx.drawImage(bitmap.bmp, current.x, current.y, img.w * current.scale, img.h * current.scale);
  });

  const onWheel = useCallback(
    (e: WheelEvent) => {
      e.preventDefault();
      if (!current) return;
      const r = canvasRef.current!.getBoundingClientRect();
      setView(zoomAt(current, wheelFactor(e.deltaY), e.clientX - r.left, e.clientY - r.top, img, canvas));
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [current, img.w, img.h, width, height],
  );
  useEffect(() => {
    const c = canvasRef.current;
    c?.addEventListener('wheel', onWheel, { passive: false });
    return () => c?.removeEventListener('wheel', onWheel);
  }, [onWheel]);

  if (!rec) return null;
  const zoomPct = current ? Math.round(current.scale * 100) : 0;
  const isFit = !view;

  return (
    <div className="flex h-full min-w-0 flex-1 flex-col bg-neutral-950" data-testid="loupe" data-id={id} data-loaded={bitmap?.id === id && bitmap.full ? "true" : "false"}>
      <div className="flex h-10 shrink-0 items-center gap-2 border-b border-neutral-800 px-2 text-xs text-neutral-400">
        <IconButton label="Back to grid (G)" onClick={onBack}>
          <GridIcon />
        </IconButton>
        <span className="truncate font-medium text-neutral-200" data-testid="loupe-name">{rec.name}</span>
        <span>{rec.width}×{rec.height}</span>
        <span className="ml-auto tabular-nums">{index + 1} / {order.length}</span>
        <div className="flex overflow-hidden rounded-md border border-neutral-700">
          <button type="button" data-testid="zoom-fit" onClick={() => setView(null)} className={`px-2.5 py-1 ${isFit ? 'bg-neutral-700 text-neutral-50' : 'hover:bg-neutral-800'}`}>Fit</button>
          <button type="button" data-testid="zoom-100" onClick={() => current && setView(actualSize(current, img, canvas))} className={`px-2.5 py-1 ${!isFit && zoomPct === 100 ? 'bg-neutral-700 text-neutral-50' : 'hover:bg-neutral-800'}`}>100%</button>
        </div>
        <span className="w-12 text-right tabular-nums" data-testid="zoom-level">{zoomPct}%</span>
        <IconButton label="Previous (←)" disabled={index <= 0} onClick={() => onNavigate(order[index - 1]!)}>
          <ChevronLeftIcon />
        </IconButton>
        <IconButton label="Next (→)" disabled={index >= order.length - 1} onClick={() => onNavigate(order[index + 1]!)}>
          <ChevronRightIcon />
        </IconButton>
        <IconButton label="Slideshow (S)" onClick={onSlideshow}>
          <PlayIcon />
        </IconButton>
        <IconButton label="Fit (double-click)" onClick={() => setView(null)}>
          <MaximizeIcon />
        </IconButton>
      </div>
      <div ref={wrapRef} className="relative min-h-0 flex-1 overflow-hidden">
        <canvas
          ref={canvasRef}
          data-testid="loupe-canvas"
          className={`absolute inset-0 h-full w-full touch-none ${current && (img.w * current.scale > width || img.h * current.scale > height) ? 'cursor-grab active:cursor-grabbing' : 'cursor-zoom-in'}`}
          onDoubleClick={() => setView(null)}
          onPointerDown={(e) => {
            e.currentTarget.setPointerCapture(e.pointerId);
            drag.current = { x: e.clientX, y: e.clientY };
          }}
          onPointerMove={(e) => {
            if (!drag.current || !current) return;
            const dx = e.clientX - drag.current.x;
            const dy = e.clientY - drag.current.y;
            drag.current = { x: e.clientX, y: e.clientY };
            if (dx || dy) setView(pan(current, dx, dy, img, canvas));
          }}
          onPointerUp={() => (drag.current = null)}
        />
        {bitmap?.id === id && !bitmap.full && <div className="absolute top-3 left-3 rounded bg-black/60 px-2 py-1 text-[11px] text-neutral-300">Loading full resolution…</div>}
      </div>
      <FilmStrip order={order} index={index} byId={byId} onPick={onNavigate} />
    </div>
  );
}
