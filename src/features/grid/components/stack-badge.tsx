import type { MouseEvent } from 'react';

/** A near-duplicate stack as a grid cell sees it (the app's search feature computes it). */
export interface GridStack {
  key: string;
  /** images of the stack the filters show */
  count: number;
  expanded: boolean;
  /** this cell stands for the stack (it carries the count) */
  head: boolean;
}

/** The count on a stack's cover; a click opens the stack in place (or closes it). */
export function StackBadge({ count, expanded, onToggle }: { count: number; expanded: boolean; onToggle: () => void }) {
  const click = (e: MouseEvent) => {
    e.stopPropagation();
    onToggle();
  };
  return (
    <button
      type="button"
      onClick={click}
      onDoubleClick={(e) => e.stopPropagation()}
      data-testid="stack-badge"
      data-expanded={expanded || undefined}
      aria-label={expanded ? `Close the stack of ${count}` : `Open the stack of ${count} similar images`}
      title={expanded ? 'Close the stack' : `${count} near-duplicates: show them all`}
      className={`absolute top-1 right-1 flex items-center gap-0.5 rounded-md px-1.5 py-0.5 text-[11px] leading-none font-semibold tabular-nums shadow ${expanded ? 'bg-violet-500 text-white' : 'bg-black/70 text-violet-100 hover:bg-violet-600'}`}
    >
      <svg width="11" height="11" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2.2" aria-hidden="true">
        <rect x="3" y="7" width="14" height="14" rx="2" />
        <path d="M7 3h12a2 2 0 0 1 2 2v12" />
      </svg>
      {count}
      <span aria-hidden="true">{expanded ? '▴' : ''}</span>
    </button>
  );
}
