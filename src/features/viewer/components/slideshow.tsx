import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ImageRecord } from '@/lib/db/schema';
import { getOriginal } from '@/lib/db/records';
import { IconButton } from '@/components/ui/button';
import { ChevronLeftIcon, ChevronRightIcon, PauseIcon, PlayIcon, ShuffleIcon, XIcon } from '@/components/ui/icons';
import { shuffledOrder } from '../utils/shuffle';
import { swipeStep } from '../utils/gestures';

type Transition = 'fade' | 'slide' | 'none';

/** The controls show when the slideshow starts and on any mouse move, tap or key; they fade out
 * after this long without one while it plays (paused, they stay). */
const CONTROLS_HIDE_MS = 3000;

/** Full-screen slideshow over the current filter: interval, shuffle, transitions. */
export function Slideshow({ order, byId, startId, onClose }: { order: readonly string[]; byId: ReadonlyMap<string, ImageRecord>; startId: string | null; onClose: (lastId: string | null) => void }) {
  const start = Math.max(0, startId ? order.indexOf(startId) : 0);
  const [shuffle, setShuffle] = useState(false);
  const [interval, setIntervalS] = useState(4);
  const [transition, setTransition] = useState<Transition>('fade');
  const [playing, setPlaying] = useState(true);
  const [pos, setPos] = useState(0);
  const sequence = useMemo(() => (shuffle ? shuffledOrder(order.length, start) : Array.from({ length: order.length }, (_, i) => (i + start) % order.length)), [shuffle, order.length, start]);
  const id = order[sequence[pos % Math.max(1, sequence.length)] ?? 0] ?? null;
  const nextId = order[sequence[(pos + 1) % Math.max(1, sequence.length)] ?? 0] ?? null;
  const [layers, setLayers] = useState<{ key: number; id: string; url: string }[]>([]);
  const urls = useRef(new Map<string, Promise<string | null>>());
  const keyRef = useRef(0);
  const [controls, setControls] = useState(true);
  const hideTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const showControls = useCallback(() => {
    setControls(true);
    clearTimeout(hideTimer.current);
    if (playing) hideTimer.current = setTimeout(() => setControls(false), CONTROLS_HIDE_MS);
  }, [playing]);
  useEffect(() => {
    showControls();
    return () => clearTimeout(hideTimer.current);
  }, [showControls]);
  const touch = useRef<{ x: number; y: number; at: number } | null>(null);
  const root = useRef<HTMLDivElement>(null);
  // a touch the page consumes starts no browser fling, which would swallow the next tap
  useEffect(() => {
    const el = root.current;
    const consume = (e: TouchEvent) => e.cancelable && e.preventDefault();
    el?.addEventListener('touchmove', consume, { passive: false });
    return () => el?.removeEventListener('touchmove', consume);
  }, []);
  const step = (d: number) => setPos((p) => (p + d + sequence.length) % sequence.length);

  const urlFor = (x: string) => {
    let p = urls.current.get(x);
    if (!p) {
      p = getOriginal(x).then((b) => (b ? URL.createObjectURL(b) : null));
      urls.current.set(x, p);
    }
    return p;
  };

  // show the current image (crossfading from the previous one) and preload the next
  useEffect(() => {
    if (!id) return;
    let live = true;
    void urlFor(id).then((url) => {
      if (!live || !url) return;
      setLayers((ls) => [...ls.slice(-1), { key: ++keyRef.current, id, url }]);
    });
    if (nextId) void urlFor(nextId);
    // drop object URLs that are neither shown nor next
    for (const [k, p] of urls.current) {
      if (k !== id && k !== nextId && !layers.some((l) => l.id === k)) {
        urls.current.delete(k);
        void p.then((u) => u && setTimeout(() => URL.revokeObjectURL(u), 2000));
      }
    }
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);

  useEffect(() => {
    if (!playing || sequence.length < 2) return;
    const t = setTimeout(() => setPos((p) => (p + 1) % sequence.length), interval * 1000);
    return () => clearTimeout(t);
  }, [playing, pos, interval, sequence.length]);

  useEffect(() => () => urls.current.forEach((p) => void p.then((u) => u && URL.revokeObjectURL(u))), []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const k = e.key;
      showControls();
      if (k === 'Escape') onClose(id);
      else if (k === ' ') setPlaying((p) => !p);
      else if (k === 'ArrowRight') setPos((p) => (p + 1) % sequence.length);
      else if (k === 'ArrowLeft') setPos((p) => (p - 1 + sequence.length) % sequence.length);
      else return;
      e.preventDefault();
      e.stopPropagation();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [id, onClose, sequence.length, showControls]);

  const rec = id ? byId.get(id) : undefined;
  const dur = transition === 'none' ? 0 : 600;
  return (
    <div
      ref={root}
      className={`fixed inset-0 z-40 touch-none bg-black ${controls ? '' : 'cursor-none'}`}
      data-testid="slideshow"
      data-id={id ?? ''}
      onPointerMove={(e) => e.pointerType === 'mouse' && showControls()}
      onPointerDown={(e) => {
        if (e.pointerType !== 'mouse') touch.current = { x: e.clientX, y: e.clientY, at: e.timeStamp };
        else showControls();
      }}
      onPointerUp={(e) => {
        const t = touch.current;
        touch.current = null;
        if (!t || (e.target as HTMLElement).closest('[data-testid="slideshow-controls"]')) return;
        const d = swipeStep(e.clientX - t.x, e.clientY - t.y, e.timeStamp - t.at);
        if (d) step(d);
        else if (controls) setControls(false);
        else showControls();
      }}
    >
      {layers.map((l, i) => (
        <img
          key={l.key}
          src={l.url}
          alt=""
          className="absolute inset-0 h-full w-full object-contain"
          style={{
            animation: i === layers.length - 1 && dur ? `atelier-${transition}-in ${dur}ms ease-out both` : undefined,
            opacity: i === layers.length - 1 ? 1 : transition === 'none' ? 0 : undefined,
          }}
        />
      ))}
      <div className="absolute inset-x-0 bottom-0 flex justify-center p-3 pb-[max(0.75rem,env(safe-area-inset-bottom))] sm:p-6">
        <div
          className={`flex max-w-full flex-wrap items-center justify-center gap-1.5 rounded-xl border border-neutral-700 bg-neutral-900/95 px-3 py-2 text-xs text-neutral-200 shadow-2xl transition-opacity duration-300 hover:opacity-100 focus-within:opacity-100 sm:gap-2 ${controls ? 'opacity-100' : 'opacity-0'}`}
          data-testid="slideshow-controls"
          data-shown={controls}
          onPointerEnter={() => clearTimeout(hideTimer.current)}
          onPointerLeave={showControls}
        >
          <IconButton label="Previous" onClick={() => step(-1)} className="text-neutral-200 pointer-coarse:h-11 pointer-coarse:w-11"><ChevronLeftIcon /></IconButton>
          <IconButton label={playing ? 'Pause (space)' : 'Play (space)'} onClick={() => setPlaying((p) => !p)} data-testid="slideshow-play" className="text-neutral-200 pointer-coarse:h-11 pointer-coarse:w-11">{playing ? <PauseIcon /> : <PlayIcon />}</IconButton>
          <IconButton label="Next" onClick={() => step(1)} className="text-neutral-200 pointer-coarse:h-11 pointer-coarse:w-11"><ChevronRightIcon /></IconButton>
          <IconButton label="Shuffle" active={shuffle} onClick={() => { setShuffle((s) => !s); setPos(0); }} className="pointer-coarse:h-11 pointer-coarse:w-11"><ShuffleIcon /></IconButton>
          <select aria-label="Interval" value={interval} onChange={(e) => setIntervalS(Number(e.target.value))} className="h-7 rounded bg-neutral-800 px-1.5">
            {[2, 4, 8, 15, 30].map((s) => <option key={s} value={s}>{s} s</option>)}
          </select>
          <select aria-label="Transition" value={transition} onChange={(e) => setTransition(e.target.value as Transition)} className="h-7 rounded bg-neutral-800 px-1.5">
            <option value="fade">Fade</option>
            <option value="slide">Slide</option>
            <option value="none">Cut</option>
          </select>
          <span className="max-w-64 truncate px-2 text-neutral-300 max-sm:hidden">{rec?.name} · {(pos % Math.max(1, sequence.length)) + 1}/{sequence.length}</span>
          <IconButton label="Close (Esc)" onClick={() => onClose(id)} data-testid="slideshow-close" className="text-neutral-200 pointer-coarse:h-11 pointer-coarse:w-11"><XIcon /></IconButton>
        </div>
      </div>
    </div>
  );
}
