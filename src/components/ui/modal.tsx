import { useEffect, useRef, type ReactNode } from 'react';
import { XIcon } from './icons';

/** A centred dialog; Esc and a backdrop click close it. Keyboard shortcuts stay off while it is open. */
export function Modal({ title, onClose, children, footer, wide, testId }: { title: string; onClose: () => void; children: ReactNode; footer?: ReactNode; wide?: boolean; testId?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    ref.current?.querySelector<HTMLElement>('[data-autofocus]')?.focus() ?? ref.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        onClose();
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => {
      window.removeEventListener('keydown', onKey, true);
      prev?.focus?.();
    };
  }, [onClose]);
  // No backdrop blur: without GPU compositing (a VM, remote desktop, headless) the browser blurs
  // the whole screen again for every frame the modal shows (a progress update: ~55 ms each).
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/70 p-4" onMouseDown={(e) => e.target === e.currentTarget && onClose()} data-modal-open>
      <div ref={ref} tabIndex={-1} role="dialog" aria-modal="true" aria-label={title} data-testid={testId} className={`flex max-h-[85vh] w-full flex-col rounded-xl border border-neutral-800 bg-neutral-900 shadow-2xl outline-none ${wide ? 'max-w-3xl' : 'max-w-md'}`}>
        <div className="flex items-center justify-between border-b border-neutral-800 px-5 py-3">
          <h2 className="text-sm font-semibold tracking-wide text-neutral-100">{title}</h2>
          <button type="button" aria-label="Close" onClick={onClose} className="rounded p-1 text-neutral-400 hover:bg-neutral-800 hover:text-neutral-100">
            <XIcon />
          </button>
        </div>
        <div className="overflow-auto px-5 py-4 text-sm text-neutral-300">{children}</div>
        {footer && <div className="flex justify-end gap-2 border-t border-neutral-800 px-5 py-3">{footer}</div>}
      </div>
    </div>
  );
}
