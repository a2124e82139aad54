import type { Flag, Rating } from '@/lib/db/schema';
export { isTypingTarget } from '@/components/ui/is-typing-target';

// One table of shortcuts: the `?` overlay renders it, the dispatcher resolves keys with it.
export type Command =
  | { type: 'rate'; rating: Rating }
  | { type: 'flag'; flag: Flag }
  | { type: 'grid' }
  | { type: 'loupe' }
  | { type: 'back' }
  | { type: 'move'; dx: number; dy: number; extend: boolean }
  | { type: 'delete' }
  | { type: 'help' }
  | { type: 'selectAll' }
  | { type: 'slideshow' }
  | { type: 'info' }
  | { type: 'search' }
  | { type: 'nsfw' };

export interface KeyInput {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  shiftKey?: boolean;
  altKey?: boolean;
}

export interface KeyContext {
  view: 'grid' | 'loupe' | 'other';
  /** focus is in a text field: shortcuts are off */
  typing: boolean;
}

export const SHORTCUTS: { keys: string[]; label: string; group: string }[] = [
  { group: 'Culling', keys: ['1', '…', '5'], label: 'Rate the selection' },
  { group: 'Culling', keys: ['0'], label: 'Clear the rating' },
  { group: 'Culling', keys: ['P'], label: 'Pick' },
  { group: 'Culling', keys: ['X'], label: 'Reject' },
  { group: 'Culling', keys: ['U'], label: 'Unflag' },
  { group: 'Culling', keys: ['N'], label: 'Mark NSFW / safe (over the detector)' },
  { group: 'Culling', keys: ['Delete'], label: 'Delete (asks first)' },
  { group: 'Views', keys: ['G'], label: 'Grid' },
  { group: 'Views', keys: ['Enter'], label: 'Loupe (full image)' },
  { group: 'Views', keys: ['Esc'], label: 'Back / clear selection' },
  { group: 'Views', keys: ['S'], label: 'Slideshow' },
  { group: 'Views', keys: ['I'], label: 'Toggle the info panel' },
  { group: 'Navigate', keys: ['←', '→', '↑', '↓'], label: 'Move (Shift extends the selection)' },
  { group: 'Navigate', keys: ['Ctrl/⌘', 'A'], label: 'Select all' },
  { group: 'Navigate', keys: ['/'], label: 'Search' },
  { group: 'Navigate', keys: ['?'], label: 'This help' },
];

export function resolveKey(e: KeyInput, ctx: KeyContext): Command | null {
  if (ctx.typing || ctx.view === 'other') return null;
  const mod = !!(e.ctrlKey || e.metaKey);
  const k = e.key;
  if (mod) return k.toLowerCase() === 'a' && ctx.view === 'grid' ? { type: 'selectAll' } : null;
  if (e.altKey) return null;
  if (/^[0-5]$/.test(k)) return { type: 'rate', rating: Number(k) as Rating };
  const extend = !!e.shiftKey;
  switch (k) {
    case 'p': case 'P': return { type: 'flag', flag: 'pick' };
    case 'x': case 'X': return { type: 'flag', flag: 'reject' };
    case 'u': case 'U': return { type: 'flag', flag: 'none' };
    case 'n': case 'N': return { type: 'nsfw' };
    case 'g': case 'G': return { type: 'grid' };
    case 'Enter': return { type: 'loupe' };
    case 'Escape': return { type: 'back' };
    case 'Delete': case 'Backspace': return { type: 'delete' };
    case '?': return { type: 'help' };
    case 's': case 'S': return { type: 'slideshow' };
    case 'i': case 'I': return { type: 'info' };
    case '/': return { type: 'search' };
    case 'ArrowLeft': return { type: 'move', dx: -1, dy: 0, extend };
    case 'ArrowRight': return { type: 'move', dx: 1, dy: 0, extend };
    case 'ArrowUp': return ctx.view === 'grid' ? { type: 'move', dx: 0, dy: -1, extend } : null;
    case 'ArrowDown': return ctx.view === 'grid' ? { type: 'move', dx: 0, dy: 1, extend } : null;
  }
  return null;
}
