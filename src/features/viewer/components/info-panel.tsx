import { useEffect, useState, type ReactNode } from 'react';
import type { Flag, ImageRecord, Rating } from '@/lib/db/schema';
import { formatBytes } from '@/lib/db/storage';
import { Chip } from '@/components/ui/form';
import { CopyIcon, FlagIcon, LinkIcon, RejectIcon, ShieldIcon, SparklesIcon, StarIcon, UserIcon, XIcon } from '@/components/ui/icons';
import { detectedNsfw, isNsfw, type NsfwMark } from '@/lib/db/nsfw';
import { useThumbUrl } from '@/components/ui/use-thumb-url';

export interface InfoPanelProps {
  rec: ImageRecord | null;
  selectedCount: number;
  source: ImageRecord | null;
  derived: ImageRecord[];
  onRate: (r: Rating) => void;
  onFlag: (f: Flag) => void;
  onAddTag: (name: string) => void;
  onRemoveTag: (name: string) => void;
  onCaption: (text: string) => void;
  onFocus: (id: string) => void;
  /** the colleague's "Reuse parameters" / "Enhance" entry points (issue 7) */
  actions?: ReactNode;
  /** the grid shows a preview on top; the loupe already shows the image */
  preview?: boolean;
  /** blur the preview (an NSFW image while "Unblur NSFW" is off) */
  blurPreview?: boolean;
  /** library totals, shown while nothing is selected */
  summary?: { label: string; value: number }[];
  /** the NSFW threshold setting, and the user's override (undefined: the detector decides) */
  nsfwThreshold: number;
  onNsfw: (mark: NsfwMark | undefined) => void;
  /** 'sheet': inside a phone's bottom sheet (full width, the sheet scrolls) */
  variant?: 'side' | 'sheet';
}

const fmtDate = (t: number) => new Date(t).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function Section({ title, children, testId }: { title: string; children: ReactNode; testId?: string }) {
  return (
    <section className="border-b border-neutral-800/80 px-4 py-3" data-testid={testId}>
      <h3 className="mb-2 text-[11px] font-semibold tracking-wider text-neutral-500 uppercase">{title}</h3>
      {children}
    </section>
  );
}

function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-xs">
      {rows.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="text-neutral-500">{k}</dt>
          <dd className="min-w-0 truncate text-neutral-200" title={typeof v === 'string' ? v : undefined}>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function InfoPanel({ rec, selectedCount, source, derived, onRate, onFlag, onAddTag, onRemoveTag, onCaption, onFocus, actions, preview = true, blurPreview = false, summary = [], nsfwThreshold, onNsfw, variant = 'side' }: InfoPanelProps) {
  const frame = variant === 'sheet' ? 'flex w-full flex-col bg-neutral-925' : 'flex shrink-0 flex-col overflow-y-auto border-l border-neutral-800 bg-neutral-925 w-72 lg:w-80';
  if (!rec) {
    return (
      <aside className={frame} data-testid="info-panel" data-variant={variant}>
        <Section title="Library">
          <dl className="grid grid-cols-2 gap-2">
            {summary.map((s) => (
              <div key={s.label} className="rounded-lg bg-neutral-900 px-3 py-2">
                <dt className="text-[11px] text-neutral-500">{s.label}</dt>
                <dd className="text-lg font-semibold text-neutral-100 tabular-nums">{s.value.toLocaleString()}</dd>
              </div>
            ))}
          </dl>
        </Section>
        <div className="px-4 py-3 text-xs leading-relaxed text-neutral-500">
          <span className="pointer-coarse:hidden">Click an image to see its details here. Shift-click selects a range, Ctrl/⌘-click adds to the selection; then rate with 1–5, pick with P, reject with X. Press ? for every shortcut.</span>
          <span className="hidden pointer-coarse:inline">Tap an image to open it; swipe for the next one and rate it with the stars below it. Hold an image to select several.</span>
        </div>
      </aside>
    );
  }
  const p = rec.params;
  const exif = rec.exif;
  const fileRows: [string, ReactNode][] = [
    ['Type', rec.mime.replace('image/', '').toUpperCase()],
    ['Size', `${rec.width} × ${rec.height} · ${formatBytes(rec.bytes)}`],
    ['Added', fmtDate(rec.addedAt)],
  ];
  if (rec.takenAt) fileRows.push(['Taken', fmtDate(rec.takenAt)]);
  if (rec.camera) fileRows.push(['Camera', rec.camera]);
  if (exif?.lens) fileRows.push(['Lens', exif.lens]);
  const shot = [exif?.focalLength && `${exif.focalLength} mm`, exif?.fNumber && `f/${exif.fNumber}`, exif?.exposure && (exif.exposure < 1 ? `1/${Math.round(1 / exif.exposure)} s` : `${exif.exposure} s`), exif?.iso && `ISO ${exif.iso}`].filter(Boolean);
  if (shot.length) fileRows.push(['Exposure', shot.join(' · ')]);
  if (rec.path) fileRows.push(['Folder', rec.path]);
  fileRows.push(['Origin', rec.origin === 'generated' ? 'Generated' : 'Imported']);

  return (
    <aside className={frame} data-testid="info-panel" data-id={rec.id} data-variant={variant}>
      {preview && <Preview rec={rec} blur={blurPreview} />}
      <div className="border-b border-neutral-800/80 px-4 py-3">
        <div className="truncate text-sm font-medium text-neutral-100" title={rec.name} data-testid="info-name">{rec.name}</div>
        {selectedCount > 1 && <div className="mt-0.5 text-xs text-amber-300/90">{selectedCount} selected · rating and flags apply to all</div>}
        <div className="mt-3 flex flex-wrap items-center justify-between gap-y-1">
          <div className="flex" role="radiogroup" aria-label="Rating" data-testid="info-rating" data-rating={rec.rating}>
            {([1, 2, 3, 4, 5] as const).map((n) => (
              <button key={n} type="button" aria-label={`${n} star${n > 1 ? 's' : ''}`} onClick={() => onRate(rec.rating === n ? 0 : n)} className={`p-0.5 pointer-coarse:p-[13px] ${n <= rec.rating ? 'text-amber-300' : 'text-neutral-600 hover:text-neutral-400'}`}>
                <StarIcon size={18} filled={n <= rec.rating} />
              </button>
            ))}
          </div>
          <div className="flex gap-1" data-testid="info-flag" data-flag={rec.flag}>
            <FlagButton label="Pick (P)" active={rec.flag === 'pick'} tone="text-emerald-400" onClick={() => onFlag(rec.flag === 'pick' ? 'none' : 'pick')}>
              <FlagIcon size={15} filled={rec.flag === 'pick'} />
            </FlagButton>
            <FlagButton label="Reject (X)" active={rec.flag === 'reject'} tone="text-red-400" onClick={() => onFlag(rec.flag === 'reject' ? 'none' : 'reject')}>
              <RejectIcon size={15} />
            </FlagButton>
          </div>
        </div>
        {actions && <div className="mt-3 flex flex-wrap gap-2">{actions}</div>}
      </div>

      <Section title="Caption & tags" testId="info-tags">
        <CaptionEditor key={rec.id} value={rec.caption ?? rec.analysis?.caption ?? ''} fromAi={!rec.caption && !!rec.analysis?.caption} onSave={onCaption} />
        <div className="mt-2 flex flex-wrap gap-1">
          {rec.tags.map((t) => (
            <Chip key={t.name} tone={t.source} title={t.source === 'ai' ? `from ${rec.analysis?.model ?? 'AI'}${t.score ? ` · ${Math.round(t.score * 100)}%` : ''}` : 'added by you'} onRemove={() => onRemoveTag(t.name)} testId={`tag-${t.source}`}>
              {t.name}
            </Chip>
          ))}
          <TagInput onAdd={onAddTag} />
        </div>
        <div className="mt-2 flex gap-3 text-[10px] text-neutral-500">
          <span className="inline-flex items-center gap-1"><SparklesIcon size={10} className="text-violet-300" /> AI</span>
          <span className="inline-flex items-center gap-1"><UserIcon size={10} className="text-sky-300" /> you</span>
          {rec.analysis && <span className="ml-auto truncate">{rec.analysis.model}</span>}
          {!rec.analysis && <span className="ml-auto">not analysed yet</span>}
        </div>
        <NsfwControl rec={rec} threshold={nsfwThreshold} onChange={onNsfw} />
      </Section>

      {p && (
        <Section title={`Generation · ${p.source === 'a1111' ? 'AUTOMATIC1111' : p.source === 'comfyui' ? 'ComfyUI' : 'Atelier'}`} testId="info-params">
          <div className="group relative rounded-md bg-neutral-900 p-2 text-xs leading-relaxed text-neutral-200" data-testid="info-prompt">
            {p.prompt || <span className="text-neutral-500">(no prompt)</span>}
            {p.prompt && (
              <button type="button" aria-label="Copy prompt" onClick={() => void navigator.clipboard?.writeText(p.prompt)} className="absolute top-1 right-1 rounded p-1 text-neutral-500 opacity-0 group-hover:opacity-100 hover:text-neutral-100">
                <CopyIcon size={12} />
              </button>
            )}
          </div>
          {p.negativePrompt && <div className="mt-1.5 rounded-md bg-neutral-900/60 p-2 text-xs text-neutral-400"><span className="text-neutral-500">Negative: </span>{p.negativePrompt}</div>}
          <div className="mt-2">
            <Facts
              rows={(
                [
                  ['Model', p.model],
                  ['Steps', p.steps],
                  ['Sampler', p.sampler],
                  ['Guidance', p.guidance],
                  ['Seed', p.seed],
                  ['Size', p.width && p.height ? `${p.width} × ${p.height}` : undefined],
                  ['Strength', p.strength],
                ] as [string, string | number | undefined][]
              ).filter((r): r is [string, string | number] => r[1] !== undefined).map(([k, v]) => [k, String(v)])}
            />
          </div>
        </Section>
      )}

      {(source || derived.length > 0 || rec.lineage) && (
        <Section title="Lineage" testId="info-lineage">
          {rec.lineage && (
            <div className="mb-2 text-xs text-neutral-400">
              <span className="capitalize">{rec.lineage.action}</span> of{' '}
              {source ? <LineageLink rec={source} onFocus={onFocus} /> : <span className="text-neutral-500">a deleted image</span>}
            </div>
          )}
          {derived.length > 0 && (
            <>
              <div className="mb-1 text-xs text-neutral-500">Made from this image ({derived.length})</div>
              <div className="flex flex-wrap gap-1.5">
                {derived.slice(0, 24).map((d) => <LineageThumb key={d.id} rec={d} onFocus={onFocus} />)}
              </div>
            </>
          )}
        </Section>
      )}

      <Section title="File">
        <Facts rows={fileRows} />
      </Section>
    </aside>
  );
}

/**
 * Content: the detector's verdict at the user's threshold, and the user's own, which wins and
 * survives re-analysis (N toggles it).
 */
function NsfwControl({ rec, threshold, onChange }: { rec: ImageRecord; threshold: number; onChange: (m: NsfwMark | undefined) => void }) {
  const score = rec.analysis?.nsfw?.score;
  const auto = detectedNsfw(rec, threshold);
  const shown = isNsfw(rec, threshold);
  const options: { value: NsfwMark | undefined; label: string }[] = [
    { value: undefined, label: 'Auto' },
    { value: 'safe', label: 'Safe' },
    { value: 'nsfw', label: 'NSFW' },
  ];
  const detector = score === undefined ? (rec.analysis ? 'no NSFW check' : 'not checked yet') : `detector ${Math.round(score * 100)}% → ${auto ? 'NSFW' : 'safe'} at ${Math.round(threshold * 100)}%`;
  return (
    <div className="mt-3 flex flex-wrap items-center gap-x-2 gap-y-1 text-xs" data-testid="nsfw-override" data-value={rec.nsfwOverride ?? 'auto'} data-nsfw={shown}>
      <span className="inline-flex items-center gap-1 text-neutral-500" title="N marks the image NSFW or safe, over the detector">
        <ShieldIcon size={12} /> Content
      </span>
      <div className="inline-flex rounded-md border border-neutral-700 p-0.5" role="radiogroup" aria-label="Content">
        {options.map((o) => {
          const on = rec.nsfwOverride === o.value;
          return (
            <button key={o.label} type="button" role="radio" aria-checked={on} onClick={() => onChange(o.value)} data-testid={`nsfw-${o.value ?? 'auto'}`} className={`rounded px-2 py-0.5 pointer-coarse:min-h-11 pointer-coarse:px-3 ${on ? (o.value === 'nsfw' ? 'bg-rose-500/20 text-rose-200' : 'bg-neutral-700 text-neutral-50') : 'text-neutral-400 hover:text-neutral-100'}`}>
              {o.label}
            </button>
          );
        })}
      </div>
      <span className="text-[10px] text-neutral-500" data-testid="nsfw-detector">{detector}</span>
    </div>
  );
}

function FlagButton({ label, active, tone, onClick, children }: { label: string; active: boolean; tone: string; onClick: () => void; children: ReactNode }) {
  return (
    <button type="button" aria-label={label} title={label} aria-pressed={active} onClick={onClick} className={`rounded-md border p-1.5 pointer-coarse:p-3 ${active ? `border-current ${tone} bg-neutral-800` : 'border-neutral-700 text-neutral-500 hover:text-neutral-200'}`}>
      {children}
    </button>
  );
}

function Preview({ rec, blur }: { rec: ImageRecord; blur: boolean }) {
  const url = useThumbUrl(rec.id);
  return (
    <div className="flex h-44 shrink-0 items-center justify-center overflow-hidden bg-neutral-950 p-2">
      {url && <img src={url} alt="" className={`max-h-full max-w-full rounded object-contain ${blur ? 'blur-xl' : ''}`} />}
    </div>
  );
}

function LineageLink({ rec, onFocus }: { rec: ImageRecord; onFocus: (id: string) => void }) {
  return (
    <button type="button" onClick={() => onFocus(rec.id)} className="inline-flex items-center gap-1 text-amber-300 hover:underline" data-testid="lineage-source">
      <LinkIcon size={11} /> {rec.name}
    </button>
  );
}

function LineageThumb({ rec, onFocus }: { rec: ImageRecord; onFocus: (id: string) => void }) {
  const url = useThumbUrl(rec.id);
  return (
    <button type="button" title={`${rec.lineage?.action ?? ''}: ${rec.name}`} onClick={() => onFocus(rec.id)} className="h-12 w-12 overflow-hidden rounded bg-neutral-800 ring-1 ring-neutral-700 hover:ring-amber-400" data-testid="lineage-child">
      {url && <img src={url} alt="" className="h-full w-full object-cover" />}
    </button>
  );
}

function CaptionEditor({ value, fromAi, onSave }: { value: string; fromAi: boolean; onSave: (t: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  return (
    <div className="relative">
      <textarea
        value={text}
        placeholder="Add a caption…"
        rows={2}
        data-testid="caption-input"
        onChange={(e) => setText(e.target.value)}
        onBlur={() => text !== value && onSave(text)}
        className="w-full resize-none rounded-md border border-transparent bg-neutral-900 px-2 py-1.5 text-xs text-neutral-200 outline-none placeholder:text-neutral-600 hover:border-neutral-700 focus:border-amber-400/60"
      />
      {fromAi && <SparklesIcon size={11} className="absolute top-2 right-2 text-violet-300" aria-label="caption by AI" />}
    </div>
  );
}

function TagInput({ onAdd }: { onAdd: (name: string) => void }) {
  const [text, setText] = useState('');
  return (
    <span className="inline-flex items-center">
      <input
        value={text}
        data-testid="tag-input"
        placeholder="+ tag"
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && text.trim()) {
            onAdd(text.trim());
            setText('');
          }
          if (e.key === 'Escape') (e.target as HTMLInputElement).blur();
        }}
        className="h-6 w-20 rounded-full border border-dashed border-neutral-700 bg-transparent px-2 text-xs text-neutral-200 outline-none placeholder:text-neutral-500 focus:w-32 focus:border-amber-400/60"
      />
      {text && (
        <button type="button" aria-label="Clear" onClick={() => setText('')} className="text-neutral-500">
          <XIcon size={12} />
        </button>
      )}
    </span>
  );
}
