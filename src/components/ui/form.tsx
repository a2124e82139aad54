import type { ReactNode, SelectHTMLAttributes } from 'react';

export function Select({ label, className = '', children, ...rest }: SelectHTMLAttributes<HTMLSelectElement> & { label: string }) {
  return (
    <label className={`inline-flex items-center gap-1.5 text-xs text-neutral-400 ${className}`}>
      <span>{label}</span>
      <select
        className="h-7 rounded-md border border-neutral-700 bg-neutral-900 px-2 text-xs text-neutral-100 outline-none hover:border-neutral-600 focus:border-amber-400/70 pointer-coarse:h-11 pointer-coarse:text-sm"
        {...rest}
      >
        {children}
      </select>
    </label>
  );
}

export function Chip({ children, onRemove, tone = 'neutral', title, testId }: { children: ReactNode; onRemove?: () => void; tone?: 'neutral' | 'ai' | 'user' | 'amber'; title?: string; testId?: string }) {
  const tones = {
    neutral: 'bg-neutral-800 text-neutral-200 border-neutral-700',
    ai: 'bg-violet-500/10 text-violet-200 border-violet-500/30',
    user: 'bg-sky-500/10 text-sky-200 border-sky-500/30',
    amber: 'bg-amber-500/15 text-amber-200 border-amber-500/40',
  };
  return (
    <span title={title} data-testid={testId} className={`inline-flex h-6 max-w-full items-center gap-1 rounded-full border px-2 text-xs ${tones[tone]}`}>
      <span className="truncate">{children}</span>
      {onRemove && (
        <button type="button" aria-label={`Remove ${String(children)}`} onClick={onRemove} className="-mr-1 rounded-full px-1 text-neutral-400 hover:text-white">
          ×
        </button>
      )}
    </span>
  );
}

export function Kbd({ children }: { children: ReactNode }) {
  return <kbd className="inline-flex min-w-6 items-center justify-center rounded border border-neutral-700 border-b-2 bg-neutral-800 px-1.5 py-0.5 font-mono text-[11px] text-neutral-200">{children}</kbd>;
}

export function ProgressBar({ value, max, testId }: { value: number; max: number; testId?: string }) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : 0;
  return (
    <div className="h-1.5 w-full overflow-hidden rounded-full bg-neutral-800" role="progressbar" aria-valuenow={value} aria-valuemax={max} data-testid={testId}>
      {/* scaleX, not width: no layout or paint per update. No transition: a 200 ms glide per update
          is a dozen software-composited frames, taken from the import's decoders or the backend's
          model on the same cores, several times a second */}
      <div className="h-full w-full origin-left bg-amber-400" style={{ transform: `scaleX(${pct / 100})` }} />
    </div>
  );
}
