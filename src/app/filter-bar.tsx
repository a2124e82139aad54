import { useState } from 'react';
import { library, useLibrary, isFiltered, type Query } from '@/features/library';
import { Chip, Select } from '@/components/ui/form';
import { StarIcon } from '@/components/ui/icons';
import type { Rating } from '@/lib/db/schema';
import { stacks, useStacks } from '@/features/search';

export function FilterBar() {
  const q = useLibrary((s) => s.query);
  const topTags = useLibrary((s) => s.topTags);
  const showNsfw = useLibrary((s) => s.showNsfw);
  const stacking = useStacks((s) => s.enabled);
  const [tagText, setTagText] = useState('');
  const set = (patch: Partial<Query>) => library.setQuery(patch);
  const addTag = (t: string) => {
    const name = t.trim();
    if (name && !q.tags.includes(name)) set({ tags: [...q.tags, name] });
    setTagText('');
  };
  return (
    <div className="flex shrink-0 flex-wrap items-center gap-x-4 gap-y-2 border-b border-neutral-800 bg-neutral-925/80 px-4 py-2" data-testid="filter-bar">
      <div className="flex items-center gap-1.5 text-xs text-neutral-400">
        <span>Rating ≥</span>
        <div className="flex" data-testid="filter-rating">
          {([1, 2, 3, 4, 5] as const).map((n) => (
            <button key={n} type="button" aria-label={`at least ${n} star${n > 1 ? 's' : ''}`} title={`${n} star${n > 1 ? 's' : ''} or more`} aria-pressed={n === q.minRating} onClick={() => set({ minRating: (q.minRating === n ? 0 : n) as Rating })} className={`pointer-coarse:p-[14px] ${n <= q.minRating ? 'text-amber-300' : 'text-neutral-600 hover:text-neutral-400'}`}>
              <StarIcon size={16} filled={n <= q.minRating} />
            </button>
          ))}
        </div>
      </div>
      <Select label="Flag" value={q.flag} onChange={(e) => set({ flag: e.target.value as Query['flag'] })} data-testid="filter-flag">
        <option value="any">Any</option>
        <option value="pick">Picked</option>
        <option value="not-rejected">Not rejected</option>
        <option value="none">Unflagged</option>
        <option value="reject">Rejected</option>
      </Select>
      <Select label="Origin" value={q.origin} onChange={(e) => set({ origin: e.target.value as Query['origin'] })} data-testid="filter-origin">
        <option value="any">Any</option>
        <option value="imported">Imported</option>
        <option value="generated">Generated</option>
      </Select>
      <Select label="Analysed" value={q.analysed} onChange={(e) => set({ analysed: e.target.value as Query['analysed'] })} data-testid="filter-analysed">
        <option value="any">Any</option>
        <option value="yes">Yes</option>
        <option value="no">Not yet</option>
      </Select>
      <Select label="Content" value={q.nsfw} onChange={(e) => set({ nsfw: e.target.value as Query['nsfw'] })} data-testid="filter-nsfw">
        <option value="any">Any</option>
        <option value="safe">Safe</option>
        <option value="nsfw">NSFW</option>
      </Select>
      <label className="flex items-center gap-1.5 text-xs text-neutral-400">
        <input type="checkbox" checked={showNsfw} onChange={() => library.toggleNsfw()} className="accent-amber-400 pointer-coarse:h-5 pointer-coarse:w-5" data-testid="show-nsfw" />
        Unblur NSFW
      </label>
      <label className="flex items-center gap-1.5 text-xs text-neutral-400" title="Near-duplicates (copies, re-encodes, bursts) as one cell with a count">
        <input type="checkbox" checked={stacking} onChange={() => stacks.setEnabled(!stacking)} className="accent-amber-400" data-testid="stack-duplicates" />
        Stack duplicates
      </label>
      <div className="flex min-w-0 flex-1 flex-wrap items-center gap-1.5 text-xs text-neutral-400">
        <span>Tags (all of)</span>
        {q.tags.map((t) => <Chip key={t} tone="amber" onRemove={() => set({ tags: q.tags.filter((x) => x !== t) })}>{t}</Chip>)}
        <input
          list="atelier-tags"
          value={tagText}
          placeholder="add tag…"
          data-testid="filter-tag-input"
          onChange={(e) => setTagText(e.target.value)}
          onKeyDown={(e) => e.key === 'Enter' && addTag(tagText)}
          className="h-6 w-28 rounded-full border border-dashed border-neutral-700 bg-transparent px-2 text-neutral-200 outline-none focus:border-amber-400/60 pointer-coarse:h-11 pointer-coarse:text-base"
        />
        <datalist id="atelier-tags">
          {topTags.map((t) => <option key={t.name} value={t.name}>{t.count}</option>)}
        </datalist>
      </div>
      {isFiltered(q) && (
        <button type="button" onClick={() => library.resetFilters()} className="text-xs text-amber-300 hover:underline" data-testid="filters-reset">
          Clear all
        </button>
      )}
    </div>
  );
}
