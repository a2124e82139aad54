import { useEffect, useState, useSyncExternalStore } from 'react';
import { Button } from '@/components/ui/button';
import { DownloadIcon, XIcon } from '@/components/ui/icons';
import { browserStorage } from '@/lib/browser-storage';
import { modelReadiness, useModelReadiness, type KindReadiness } from '@/lib/models-ready';
import { modelDownloads } from '../status-service';
import type { DownloadView } from '../stores/downloads';
import { formatBytes } from '../utils/bytes';
import { DownloadRow } from './download-row';

const HIDDEN_KEY = 'atelier.first-run.hidden.v1';

const KINDS = [
  { kind: 'generation', title: 'Image generation', what: 'New image, Enhance, Remix and Variations' },
  { kind: 'vision', title: 'Captions and tags', what: 'analysis of every import, search by caption and tags' },
] as const;

/**
 * What a first run needs, in the library: which models to download for generation and for
 * analysis, how big each is, a Download button with its progress (the Status page's, shared),
 * and the Status page for the other models. Nothing shows once both kinds have a model.
 */
export function FirstRunPanel({ onOpenStatus }: { onOpenStatus?: () => void }) {
  const ready = useModelReadiness();
  const downloads = modelDownloads();
  const dl = useSyncExternalStore(downloads.subscribe, downloads.getSnapshot);
  const [hidden, setHidden] = useState(() => browserStorage()?.getItem(HIDDEN_KEY) === '1');

  // A finished download: ask again at once rather than at the next poll.
  const finished = Object.values(dl).filter((d) => d.phase === 'done').length;
  useEffect(() => {
    if (finished > 0) void modelReadiness().refresh();
  }, [finished]);

  const needed = KINDS.map((k) => ({ ...k, r: ready[k.kind] })).filter((k) => !k.r.ready);
  if (!ready.known || needed.length === 0 || hidden) return null;

  const hide = () => {
    setHidden(true);
    try {
      browserStorage()?.setItem(HIDDEN_KEY, '1');
    } catch {
      // storage full: hidden until the next reload
    }
  };

  return (
    <section className="border-b border-amber-500/20 bg-amber-500/5 px-4 py-3 text-sm" data-testid="first-run" aria-label="Download the models">
      <div className="mx-auto flex max-w-5xl flex-col gap-3">
        <header className="flex items-start gap-3">
          <div className="min-w-0 flex-1">
            <h2 className="font-semibold text-neutral-100">Download the models to start</h2>
            <p className="text-xs leading-relaxed text-neutral-400">
              Atelier runs its AI models on this server; {needed.length === 2 ? 'none is' : 'one is not'} downloaded yet. The library works meanwhile, and imports are analysed once a vision model is there.
            </p>
          </div>
          <button type="button" onClick={hide} aria-label="Hide" title="Hide (the Status page keeps the Download buttons)" className="rounded p-1.5 text-neutral-500 hover:text-neutral-100">
            <XIcon size={14} />
          </button>
        </header>
        <ul className="grid gap-2 md:grid-cols-2">
          {needed.map((k) => (
            <Need key={k.kind} title={k.title} what={k.what} r={k.r} view={k.r.missing[0] ? dl[k.r.missing[0].id] : undefined} onStart={(id) => void downloads.start(id)} onDismiss={(id) => downloads.clear(id)} />
          ))}
        </ul>
        {onOpenStatus && (
          <div>
            <Button variant="ghost" onClick={onOpenStatus} data-testid="first-run-status">
              Other models on the Status page →
            </Button>
          </div>
        )}
      </div>
    </section>
  );
}

function Need({ title, what, r, view, onStart, onDismiss }: { title: string; what: string; r: KindReadiness; view: DownloadView | undefined; onStart(id: string): void; onDismiss(id: string): void }) {
  const m = r.missing[0];
  if (!m) return <li className="text-xs text-red-300">{r.reason}</li>;
  const busy = view?.phase === 'starting' || view?.phase === 'running';
  return (
    <li className="flex flex-col gap-1.5 rounded-lg border border-neutral-800 bg-neutral-900/70 px-3 py-2" data-testid="first-run-model" data-model={m.id}>
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
        <div className="min-w-0 flex-1">
          <div className="text-neutral-100" title={`For ${what}`}>{title}</div>
          <div className="text-xs text-neutral-400">
            <span className="whitespace-nowrap font-mono text-amber-200">{m.id}</span>
            {m.bytes ? <span className="whitespace-nowrap" data-testid="first-run-size"> · about {formatBytes(m.bytes)}</span> : null}
          </div>
        </div>
        <Button variant="secondary" icon={<DownloadIcon size={14} />} disabled={busy || view?.phase === 'done'} onClick={() => onStart(m.id)} data-testid="first-run-download">
          {busy ? 'Downloading…' : view?.phase === 'done' ? 'Downloaded' : 'Download'}
        </Button>
      </div>
      {view ? (
        <DownloadRow view={view} onRetry={() => onStart(m.id)} onDismiss={() => onDismiss(m.id)} />
      ) : (
        <p className="text-[11px] leading-snug text-neutral-500" data-testid="first-run-hint">
          {m.hint}
        </p>
      )}
    </li>
  );
}
