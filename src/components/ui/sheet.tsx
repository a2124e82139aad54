import { useEffect, useRef, type ReactNode } from 'react';
import { XIcon } from './icons';

/**
 * A bottom sheet for phones: slides over the lower part of the screen, scrolls on its own, and
 * closes with its button, Esc, a tap on the backdrop, or a downward drag on its handle.
 */
export function Sheet({ title, onClose, children, testId }: { title: string; onClose: () => void; children: ReactNode; testId?: string }) {
  const drag = useRef<{ y: number; id: number } | null>(null);
  const panel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      e.preventDefault();
      onClose();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [onClose]);
  const follow = (dy: number) => panel.current && (panel.current.style.transform = dy > 0 ? `translateY(${dy}px)` : '');
  return (
    <div className="fixed inset-0 z-40 flex flex-col justify-end" data-sheet-open>
      <div className="absolute inset-0 bg-black/50" onClick={onClose} aria-hidden />
      <div ref={panel} role="dialog" aria-label={title} data-testid={testId} className="relative flex max-h-[75dvh] w-full flex-col rounded-t-2xl border-t border-neutral-800 bg-neutral-925 pb-[env(safe-area-inset-bottom)] shadow-2xl" style={{ animation: 'atelier-sheet-in 180ms ease-out both' }}>
        <div
          className="flex shrink-0 touch-none items-center gap-2 border-b border-neutral-800/80 px-2"
          onPointerDown={(e) => {
            drag.current = { y: e.clientY, id: e.pointerId };
            e.currentTarget.setPointerCapture(e.pointerId);
          }}
          onPointerMove={(e) => drag.current && follow(e.clientY - drag.current.y)}
          onPointerUp={(e) => {
            const dy = drag.current ? e.clientY - drag.current.y : 0;
            drag.current = null;
            follow(0);
            if (dy > 80) onClose();
          }}
          onPointerCancel={() => {
            drag.current = null;
            follow(0);
          }}
        >
          <span className="absolute top-1.5 left-1/2 h-1 w-10 -translate-x-1/2 rounded-full bg-neutral-700" aria-hidden />
          <h2 className="flex-1 pt-2 pl-2 text-sm font-semibold text-neutral-100">{title}</h2>
          <button type="button" aria-label="Close" onClick={onClose} className="mt-1 flex h-11 w-11 items-center justify-center rounded-lg text-neutral-400 hover:text-neutral-100" data-testid={testId ? `${testId}-close` : undefined}>
            <XIcon />
          </button>
        </div>
        <div className="min-h-0 flex-1 overflow-y-auto overscroll-contain">{children}</div>
      </div>
    </div>
  );
}
