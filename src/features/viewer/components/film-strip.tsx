import { memo } from 'react';
import type { ImageRecord } from '@/lib/db/schema';
import { useThumbUrl } from '@/components/ui/use-thumb-url';

const SPAN = 12;

/** Thumbnails around the current image; only 2*SPAN+1 are ever mounted. */
export function FilmStrip({ order, index, byId, onPick }: { order: readonly string[]; index: number; byId: ReadonlyMap<string, ImageRecord>; onPick: (id: string) => void }) {
  const slots: (string | null)[] = [];
  for (let i = index - SPAN; i <= index + SPAN; i++) slots.push(i >= 0 && i < order.length ? order[i]! : null);
  return (
    <div className="flex h-20 shrink-0 items-center justify-center gap-1.5 overflow-hidden border-t border-neutral-800 bg-neutral-950 px-2" data-testid="film-strip">
      {slots.map((id, k) =>
        id ? <FilmThumb key={id} rec={byId.get(id)} current={k === SPAN} onPick={onPick} /> : <div key={`empty-${k}`} className="h-14 w-14 shrink-0" />,
      )}
    </div>
  );
}

const FilmThumb = memo(function FilmThumb({ rec, current, onPick }: { rec: ImageRecord | undefined; current: boolean; onPick: (id: string) => void }) {
  const url = useThumbUrl(rec?.id ?? '');
  if (!rec) return <div className="h-14 w-14 shrink-0" />;
  return (
    <button
      type="button"
      onClick={() => onPick(rec.id)}
      title={rec.name}
      className={`h-14 w-14 shrink-0 overflow-hidden rounded bg-neutral-900 transition ${current ? 'ring-2 ring-amber-400' : 'opacity-60 hover:opacity-100'}`}
    >
      {url && <img src={url} alt="" className={`h-full w-full object-cover ${rec.flag === 'reject' ? 'grayscale' : ''}`} draggable={false} />}
    </button>
  );
});
