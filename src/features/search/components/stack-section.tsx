import { useState } from 'react';
import type { ImageRecord } from '@/lib/db/schema';
import { editRecords } from '@/lib/db/library-api';
import { Button } from '@/components/ui/button';
import { Modal } from '@/components/ui/modal';
import { useThumbUrl } from '@/components/ui/use-thumb-url';
import { bestOf } from '../stacks/compute';
import { TIER_LABEL } from '../stacks/tiers';
import { stacks, useStacks } from '../search-service';

/** The focused image's stack: open or close it, choose its cover, take the image out, keep the best. */
export function StackSection({ rec, byId, onFocus }: { rec: ImageRecord; byId: ReadonlyMap<string, ImageRecord>; onFocus: (id: string) => void }) {
  const stack = useStacks((s) => {
    const key = s.index.of.get(rec.id);
    return key === undefined ? undefined : s.index.stacks.get(key);
  });
  const expanded = useStacks((s) => (stack ? s.expanded.has(stack.key) : false));
  const enabled = useStacks((s) => s.enabled);
  const [keeping, setKeeping] = useState(false);
  if (!stack || !enabled) return null;
  const members = stack.ids.map((id) => byId.get(id)).filter((r): r is ImageRecord => !!r);
  const isCover = stack.cover === rec.id;
  const setCover = () => void editRecords(stack.ids, (r) => (r.id === rec.id ? { ...r, stack: 'cover' } : r.stack === 'cover' ? { ...r, stack: undefined } : r));
  const takeOut = () => void editRecords([rec.id], (r) => ({ ...r, stack: 'alone' }));
  return (
    <div className="flex w-full flex-col gap-2 rounded-lg border border-violet-900/60 bg-violet-950/20 p-2.5" data-testid="stack-section">
      <div className="text-xs text-neutral-300">
        <span className="font-medium text-violet-200">Stack of {members.length}</span> · {TIER_LABEL[stack.tier]}
        {isCover && <span className="text-neutral-500"> · this is its cover</span>}
      </div>
      <div className="flex flex-wrap gap-1.5">
        <Button variant="ghost" className="h-7 px-2 text-xs" onClick={() => stacks.toggle(stack.key)} data-testid="stack-toggle">{expanded ? 'Collapse' : 'Show all'}</Button>
        {!isCover && <Button variant="ghost" className="h-7 px-2 text-xs" onClick={setCover} data-testid="stack-cover">Make cover</Button>}
        <Button variant="ghost" className="h-7 px-2 text-xs" onClick={takeOut} data-testid="stack-detach" title="Not a duplicate: never stack this image">Take out</Button>
        <Button variant="ghost" className="h-7 px-2 text-xs text-amber-300" onClick={() => setKeeping(true)} data-testid="stack-keep-best">Keep the best…</Button>
      </div>
      {keeping && <KeepBest members={members} onClose={() => setKeeping(false)} onFocus={onFocus} />}
    </div>
  );
}

/**
 * The suggestion "keep the best, reject the rest": the best image (picked, rated, largest) is
 * proposed, any other can be chosen instead, and nothing happens until the user confirms. The
 * others are flagged Rejected, never deleted.
 */
function KeepBest({ members, onClose, onFocus }: { members: ImageRecord[]; onClose: () => void; onFocus: (id: string) => void }) {
  const [keep, setKeep] = useState(() => bestOf(members).id);
  const others = members.filter((m) => m.id !== keep);
  const confirm = async () => {
    await editRecords(members.map((m) => m.id), (r) => (r.id === keep ? { ...r, stack: 'cover', flag: r.flag === 'reject' ? 'none' : r.flag } : { ...r, flag: 'reject', stack: r.stack === 'cover' ? undefined : r.stack }));
    onFocus(keep);
    onClose();
  };
  return (
    <Modal
      title="Keep the best, reject the rest"
      onClose={onClose}
      wide
      testId="keep-best"
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" data-autofocus data-testid="keep-best-confirm" onClick={() => void confirm()}>Keep 1, reject {others.length}</Button>
        </>
      }
    >
      <p className="mb-3 text-neutral-400">
        The suggested keeper is outlined: picked or rated highest, then the most pixels. Click another to keep it instead. The others are flagged
        Rejected; nothing is deleted (filter on Rejected to review or delete them later).
      </p>
      <div className="grid grid-cols-2 gap-2 sm:grid-cols-4">
        {members.map((m) => (
          <Member key={m.id} rec={m} keep={m.id === keep} onPick={() => setKeep(m.id)} />
        ))}
      </div>
    </Modal>
  );
}

function Member({ rec, keep, onPick }: { rec: ImageRecord; keep: boolean; onPick: () => void }) {
  const url = useThumbUrl(rec.id);
  return (
    <button type="button" onClick={onPick} data-testid="keep-best-member" data-keep={keep || undefined} className={`flex flex-col overflow-hidden rounded-lg bg-neutral-950 text-left ring-2 ${keep ? 'ring-emerald-400' : 'ring-transparent opacity-70 hover:opacity-100'}`}>
      <div className="flex aspect-square items-center justify-center bg-neutral-900">{url && <img src={url} alt="" className="max-h-full max-w-full object-contain" />}</div>
      <div className="px-2 py-1 text-[11px]">
        <div className="truncate text-neutral-200">{rec.name}</div>
        <div className="text-neutral-500">
          {rec.width}×{rec.height}
          {rec.rating ? ` · ${rec.rating}★` : ''}
          {keep ? <span className="text-emerald-300"> · keep</span> : <span className="text-red-300"> · reject</span>}
        </div>
      </div>
    </button>
  );
}
