import { useState } from 'react';
import { startDownload } from '@/lib/api';
import { formatBytes } from '@/lib/db/storage';
import { Button } from '@/components/ui/button';
import { SparklesIcon, XIcon } from '@/components/ui/icons';
import { search, useSearch } from '../search-service';

/**
 * One line under the header while a search or a find-similar is on: what kind of search answers
 * (meaning and words, or words only and why), how many closest images, and the way out.
 */
export function SearchStrip({ text, resultCount }: { text: string; resultCount: number }) {
  const s = useSearch((st) => st);
  const q = text.trim();
  if (!q && !s.similar) return null;
  const bar = 'flex shrink-0 flex-wrap items-center gap-x-3 gap-y-1 border-b border-neutral-800 bg-neutral-925/80 px-4 py-1.5 text-xs text-neutral-400';

  if (s.similar) {
    const { label, note, ranked } = s.similar;
    return (
      <div className={bar} data-testid="search-strip" data-mode="similar">
        <SparklesIcon size={13} className="shrink-0 text-violet-300" />
        <span className="min-w-0 truncate">
          Similar to <span className="font-medium text-neutral-200">{label}</span>
          {note === 'no-model' && ': needs an embeddings model (see below)'}
          {note === 'not-indexed' && ': not indexed yet. Images are indexed in the background after they are imported.'}
          {ranked && <> · {resultCount} images, closest first</>}
        </span>
        {note === 'no-model' && <ModelHint />}
        {ranked && ranked.ids.length >= s.limit && <button type="button" className="text-amber-300 hover:underline" onClick={() => search.showMore()}>Show more</button>}
        <button type="button" aria-label="Close find similar" data-testid="similar-close" onClick={() => search.clearSimilar()} className="ml-auto rounded p-0.5 text-neutral-500 hover:text-neutral-100"><XIcon size={14} /></button>
      </div>
    );
  }

  const model = s.model;
  if (model?.state !== 'ready') {
    return (
      <div className={bar} data-testid="search-strip" data-mode="words">
        <span>Searching names, captions, tags and prompts.</span>
        <ModelHint />
      </div>
    );
  }
  return (
    <div className={bar} data-testid="search-strip" data-mode={s.wordsOnly ? 'words' : 'meaning'}>
      <SparklesIcon size={13} className={`shrink-0 ${s.wordsOnly ? 'text-neutral-600' : 'text-violet-300'}`} />
      {s.wordsOnly ? (
        <span>Words only: names, captions, tags and prompts.</span>
      ) : (
        <span data-testid="search-phase" data-phase={s.phase}>
          {s.phase === 'embedding' || s.phase === 'ranking' ? 'Searching by meaning…' : s.phase === 'error' ? `Search by meaning failed: ${s.error ?? ''}. Showing word matches.` : `By meaning and words · word matches first, then the closest images · ${resultCount} shown`}
        </span>
      )}
      {!s.wordsOnly && s.ranking && s.ranking.ranked.ids.length >= s.limit && <button type="button" className="text-amber-300 hover:underline" onClick={() => search.showMore()}>Show more</button>}
      <label className="ml-auto flex items-center gap-1.5">
        <input type="checkbox" className="accent-amber-400" checked={!s.wordsOnly} onChange={(e) => search.setWordsOnly(!e.target.checked)} data-testid="search-meaning-toggle" />
        Search by meaning
      </label>
    </div>
  );
}

/** What to download for search by meaning, with the button, or why it cannot be had here. */
function ModelHint() {
  const model = useSearch((st) => st.model);
  const [asked, setAsked] = useState<'idle' | 'started' | string>('idle');
  if (!model || model.state === 'ready') return null;
  if (model.state === 'unknown') return <span data-testid="smart-search-hint">Search by meaning is unavailable: the backend did not answer ({model.reason}).</span>;
  const c = model.candidate;
  if (!c) return <span data-testid="smart-search-hint">Search by meaning needs an image-text embeddings model, and this server offers none yet.</span>;
  return (
    <span className="flex items-center gap-2" data-testid="smart-search-hint">
      <span>
        To search by meaning, download <span className="font-medium text-neutral-200">{c.id}</span>
        {c.size_bytes ? ` (${formatBytes(c.size_bytes)})` : ''}.
      </span>
      {asked === 'idle' ? (
        <Button variant="secondary" className="h-6 px-2 text-xs" data-testid="smart-search-download" onClick={() => startDownload(c.id).then(() => setAsked('started'), (err: unknown) => setAsked(err instanceof Error ? err.message : String(err)))}>
          Download
        </Button>
      ) : (
        <span className={asked === 'started' ? 'text-neutral-300' : 'text-red-300'}>{asked === 'started' ? 'Downloading: progress on the Status page. Images are indexed once it is done.' : asked}</span>
      )}
    </span>
  );
}
