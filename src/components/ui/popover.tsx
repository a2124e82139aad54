import { useEffect, useLayoutEffect, useRef, useState, type ReactNode, type RefObject } from 'react';
import { createPortal } from 'react-dom';

/**
 * A menu or panel anchored to a button, rendered into <body>: no ancestor's `overflow` can clip it,
 * and focus inside it never scrolls the header. Placed below the anchor (or above it, for anchors
 * near the bottom such as the status bar), right-aligned with it, and kept inside the viewport.
 * Focus moves into it when it opens; ↑ and ↓ move between its menu items; a click outside it or
 * Esc closes it (Esc gives focus back to the anchor).
 */
export function Popover({ anchor, onClose, children, placement = 'below', className = '', testId, label }: { anchor: RefObject<HTMLElement | null>; onClose: () => void; children: ReactNode; placement?: 'below' | 'above'; className?: string; testId?: string; label?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState<{ left: number; top?: number; bottom?: number; maxHeight: number } | null>(null);

  useLayoutEffect(() => {
    const place = () => {
      const a = anchor.current?.getBoundingClientRect();
      const el = ref.current;
      if (!a || !el) return;
      const vw = document.documentElement.clientWidth;
      const vh = window.innerHeight;
      const width = Math.min(el.offsetWidth, vw - 16);
      const left = Math.max(8, Math.min(a.right - width, vw - width - 8));
      setPos(placement === 'below' ? { left, top: a.bottom + 4, maxHeight: vh - a.bottom - 12 } : { left, bottom: vh - a.top + 4, maxHeight: a.top - 12 });
    };
    place();
    window.addEventListener('resize', place);
    return () => window.removeEventListener('resize', place);
  }, [anchor, placement]);

  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('[role="menuitem"], button, input, select, a[href]')?.focus({ preventScroll: true });
  }, []);

  useEffect(() => {
    const down = (e: PointerEvent) => {
      const t = e.target as Node;
      if (!ref.current?.contains(t) && !anchor.current?.contains(t)) onClose();
    };
    const key = (e: KeyboardEvent) => {
      const items = Array.from(ref.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? []);
      const at = items.indexOf(document.activeElement as HTMLElement);
      if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && at >= 0) {
        e.preventDefault();
        e.stopPropagation();
        items[(at + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length]?.focus();
        return;
      }
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      e.preventDefault();
      onClose();
      anchor.current?.focus();
    };
    document.addEventListener('pointerdown', down, true);
    window.addEventListener('keydown', key, true);
    return () => {
      document.removeEventListener('pointerdown', down, true);
      window.removeEventListener('keydown', key, true);
    };
  }, [anchor, onClose]);

  return createPortal(
    <div
      ref={ref}
      role="dialog"
      aria-label={label}
      data-testid={testId}
      className={`fixed z-50 overflow-auto rounded-lg border border-neutral-800 bg-neutral-900 p-1 text-sm shadow-2xl ${className}`}
      style={pos ? { left: pos.left, top: pos.top, bottom: pos.bottom, maxHeight: pos.maxHeight } : { left: 0, top: 0, opacity: 0, pointerEvents: 'none' }}
    >
      {children}
    </div>,
    document.body,
  );
}
