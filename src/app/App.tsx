/*
 * Atelier app shell: composition only (layout, views, keyboard dispatch, overlays).
 *
 * Extension points for the AI features (issue 7) ---------------------------------------------
 * Library API, in src/lib/db/library-api.ts (all writes go through it so grid and search update):
 *   applyAnalysis(id, result: AnalysisResult, key?) -> Promise<ImageRecord | undefined>
 *       caption / NSFW / model written; AI tags replaced, user tags kept; once per key;
 *       resolves undefined when the image was deleted meanwhile.
 *   addGenerated(blob, params, lineage?, name?) -> Promise<ImageRecord>
 *       thumbnails + hash in the worker, stored with origin 'generated' and addedAt = now,
 *       so it shows at the top of the grid (default sort: date added, newest first).
 *   onImported(ids => ...) -> unsubscribe      (new imports; the analysis queue's cue)
 *   onRecordsChanged(() => ...) -> unsubscribe
 *   getRecord(id), getOriginal(id), editRecords(ids, fn)  (field-wise, on the records as stored)
 * Slots, in ./extensions.tsx (typed lazy imports: the features load after the first paint):
 *   nav "Status" / "Settings" views -> StatusSlot / SettingsSlot
 *   "New image" button, loupe / selection "Enhance" -> PromptModalSlot({ onClose, sourceId, initialMode, onOpenImage })
 *   status bar -> AnalysisIndicatorSlot({ onClick }) opening AnalysisPanelSlot, JobsIndicatorSlot
 *   status page -> JobHistorySlot (generation jobs that ended, kept across reloads)
 *   status bar -> SyncIndicatorSlot; settings view -> SyncSettingsSlot (library sync, issue 18)
 *   startFeatures() starts the analysis queue and library sync; analyzeSelection(ids) re-analyses a selection.
 */
import { Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { library, useLibrary, ImportProgressCard, DropTarget, EmptyLibrary, NoMatches, MenuItem, addUserTag, removeTag, derivedFrom } from '@/features/library';
import { ImageGrid } from '@/features/grid';
import { InfoPanel, Loupe, Slideshow } from '@/features/viewer';
import type { Flag, Rating } from '@/lib/db/schema';
import { useModelReadiness } from '@/lib/models-ready';
import { Button } from '@/components/ui/button';
import { Modal } from '@/components/ui/modal';
import { Sheet } from '@/components/ui/sheet';
import { useCoarsePointer, useCompact } from '@/components/ui/use-media-query';
import { isNsfw } from '@/lib/db/nsfw';
import { DownloadIcon, FlagIcon, MoreIcon, RejectIcon, SparklesIcon, StarIcon, TrashIcon, XIcon } from '@/components/ui/icons';
import { Popover } from '@/components/ui/popover';
import { TopBar } from './top-bar';
import { FilterBar } from './filter-bar';
import { StatusBar } from './status-bar';
import { HelpOverlay } from './help-overlay';
import { isTypingTarget, resolveKey, type Command } from './keymap';
import { imagePool } from '@/lib/workers/image-pool';
import { liveThumbUrls } from '@/lib/db/thumb-urls';
import { AnalysisPanelSlot, FirstRunSlot, JobHistorySlot, JobsIndicatorSlot, PromptModalSlot, SettingsSlot, StatusSlot, SyncIndicatorSlot, SyncSettingsSlot, analyzeSelection, startFeatures } from './extensions';
import { FindSimilarButton, SearchStrip, StackSection, stacks } from '@/features/search';
import { connectSearch } from './search-wiring';
import type { Mode } from '@/features/generation';
import { vectorIndex } from '@/lib/vectors/client';

/** Phones: thumbnails no bigger than this, so the grid shows three columns across. */
const COMPACT_THUMB = 120;

// A handle for the benchmark (scripts/bench_grid.mjs) and for debugging from the console.
Object.assign(globalThis, { __atelier: { library, imagePool, liveThumbUrls, stacks, vectorIndex } });

type Overlay = null | { kind: 'help' } | { kind: 'delete'; ids: string[] } | { kind: 'prompt'; sourceId?: string; mode?: Mode } | { kind: 'analysis' };

export function App() {
  const s = useLibrary((st) => st);
  const ready = useModelReadiness();
  const [overlay, setOverlay] = useState<Overlay>(null);
  const [filtersOpen, setFiltersOpen] = useState(false);
  const [searchFocusTick, setSearchFocusTick] = useState(0);
  const columns = useRef(1);
  const closeNotice = useCallback(() => library.notify(null), []);
  const compact = useCompact();
  const coarse = useCoarsePointer();
  // Phones show the info panel as a bottom sheet that starts closed (the side panel's state is remembered).
  const [sheetOpen, setSheetOpen] = useState(false);
  const closeSheet = useCallback(() => setSheetOpen(false), []);
  // Touch: a tap opens an image; holding one starts selecting, and then taps add and remove.
  const [selecting, setSelecting] = useState(false);
  const infoOpen = compact ? sheetOpen : s.infoOpen;
  const toggleInfo = useCallback(() => (compact ? setSheetOpen((o) => !o) : library.toggleInfo()), [compact]);
  useEffect(() => {
    if (selecting && s.selection.ids.size === 0) setSelecting(false);
  }, [selecting, s.selection.ids.size]);

  useEffect(() => {
    void library.load();
    // the AI features start after the library is in memory: the first paint comes first
    let stop: (() => void) | undefined;
    let live = true;
    let stopSearch: (() => void) | undefined;
    void library.whenReady().then(() => {
      if (!live) return;
      stop = startFeatures();
      stopSearch = connectSearch();
    });
    return () => {
      live = false;
      stop?.();
      stopSearch?.();
    };
  }, []);

  const focusId = s.selection.focus;
  const focusRec = focusId ? s.byId.get(focusId) ?? null : null;
  const inLibrary = s.view === 'grid' || s.view === 'loupe';

  const openLoupe = useCallback((id?: string) => {
    const st = library.getState();
    const target = id ?? st.selection.focus ?? st.order[0];
    if (!target) return;
    if (id) library.focus(id);
    else if (!st.selection.focus) library.focus(target);
    library.setView('loupe');
  }, []);

  const run = useCallback((cmd: Command) => {
    const st = library.getState();
    switch (cmd.type) {
      case 'rate': return void library.cull({ type: 'rate', rating: cmd.rating });
      case 'flag': return void library.cull({ type: 'flag', flag: cmd.flag });
      case 'grid': return library.setView('grid');
      case 'loupe': return openLoupe();
      case 'back':
        if (st.view === 'loupe') library.setView('grid');
        else library.clearSelection();
        return;
      case 'move': return library.move(cmd.dx + cmd.dy * (st.view === 'grid' ? columns.current : 0), cmd.extend);
      case 'delete': {
        const ids = library.deleteTargets();
        if (ids.length) setOverlay({ kind: 'delete', ids });
        return;
      }
      case 'help': return setOverlay({ kind: 'help' });
      case 'selectAll': return library.selectAll();
      case 'slideshow': return st.order.length ? library.setSlideshow(true) : undefined;
      case 'info': return toggleInfo();
      case 'search': return setSearchFocusTick((t) => t + 1);
      case 'nsfw': return void library.toggleNsfwMark();
    }
  }, [openLoupe, toggleInfo]);

  // one keyboard dispatcher for the whole app; modals and the slideshow capture their own keys
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || document.querySelector('[data-modal-open]')) return;
      // Enter / Space on a focused button press the button, not a shortcut
      if ((e.key === 'Enter' || e.key === ' ') && document.activeElement instanceof HTMLButtonElement) return;
      const st = library.getState();
      if (st.slideshow) return;
      const view = st.view === 'grid' || st.view === 'loupe' ? st.view : 'other';
      const cmd = resolveKey(e, { view, typing: isTypingTarget(document.activeElement) });
      if (!cmd) return;
      e.preventDefault();
      run(cmd);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [run]);

  const summary = useMemo(() => {
    let picked = 0, rejected = 0, generated = 0, analysed = 0;
    for (const r of s.byId.values()) {
      if (r.flag === 'pick') picked++;
      else if (r.flag === 'reject') rejected++;
      if (r.origin === 'generated') generated++;
      if (r.analysis) analysed++;
    }
    return [
      { label: 'Images', value: s.byId.size },
      { label: 'Picked', value: picked },
      { label: 'Rejected', value: rejected },
      { label: 'Generated', value: generated },
      { label: 'Analysed', value: analysed },
      { label: 'Shown', value: s.order.length },
    ];
  }, [s.byId, s.order.length]);
  const derived = useMemo(() => (focusRec ? derivedFrom(s.byId.values(), focusRec.id) : []), [focusRec, s.byId]);
  const source = focusRec?.lineage ? s.byId.get(focusRec.lineage.sourceId) ?? null : null;

  const exportSelection = async () => {
    const ids = s.selection.ids.size ? [...s.selection.ids] : focusId ? [focusId] : [];
    if (!ids.length) return;
    library.notify({ kind: 'info', text: `Preparing ${ids.length} image${ids.length > 1 ? 's' : ''}…` });
    try {
      const zip = await library.exportZip(ids);
      const a = document.createElement('a');
      a.href = URL.createObjectURL(zip);
      a.download = `atelier-export-${new Date().toISOString().slice(0, 10)}-${ids.length}.zip`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      library.notify({ kind: 'info', text: `Exported ${ids.length} image${ids.length > 1 ? 's' : ''} with XMP sidecars.` });
    } catch (err) {
      library.notify({ kind: 'error', text: `Export failed: ${(err as Error).message}` });
    }
  };

  const editFocus = (fn: (r: NonNullable<typeof focusRec>) => NonNullable<typeof focusRec>) => focusRec && void library.editRecord(focusRec.id, fn);
  const infoPanel = infoOpen && (
    <InfoPanel
      rec={focusRec}
      variant={compact ? 'sheet' : 'side'}
      preview={s.view !== 'loupe'}
      summary={summary}
      blurPreview={!s.showNsfw && !!focusRec && isNsfw(focusRec, s.nsfwThreshold)}
      nsfwThreshold={s.nsfwThreshold}
      onNsfw={(mark) => void library.setNsfwMark(mark)}
      selectedCount={s.selection.ids.size}
      source={source}
      derived={derived}
      onRate={(r: Rating) => void library.cull({ type: 'rate', rating: r })}
      onFlag={(f: Flag) => void library.cull({ type: 'flag', flag: f })}
      onAddTag={(name) => editFocus((r) => addUserTag(r, name))}
      onRemoveTag={(name) => editFocus((r) => removeTag(r, name))}
      onCaption={(text) => editFocus((r) => ({ ...r, caption: text.trim() || undefined }))}
      onFocus={(id) => library.focus(id)}
      actions={
        focusRec ? (
          <>
            <Button icon={<SparklesIcon size={14} />} onClick={() => setOverlay({ kind: 'prompt', sourceId: focusRec.id, mode: 'enhance' })} data-testid="info-enhance">Enhance / remix</Button>
            <Button onClick={() => setOverlay({ kind: 'prompt', sourceId: focusRec.id, mode: 'upscale' })} data-testid="info-upscale">Upscale</Button>
            {focusRec.params && <Button variant="ghost" onClick={() => setOverlay({ kind: 'prompt', sourceId: focusRec.id, mode: 'generate' })}>Reuse parameters</Button>}
            <FindSimilarButton ids={[focusRec.id]} label={focusRec.name} />
            <StackSection rec={focusRec} byId={s.byId} onFocus={(id) => library.focus(id)} />
          </>
        ) : undefined
      }
    />
  );

  let main: React.ReactNode;
  // the status page shows the analysis queue's throughput beside the backend's own figures
  if (s.view === 'status')
    main = (
      <Suspense fallback={null}>
        <StatusSlot history={<JobHistorySlot onOpenImage={openLoupe} exists={(id) => library.getState().byId.has(id)} />}>
          <AnalysisPanelSlot />
        </StatusSlot>
      </Suspense>
    );
  else if (s.view === 'settings')
    main = (
      <Suspense fallback={null}>
        <SettingsSlot>
          <SyncSettingsSlot />
        </SettingsSlot>
      </Suspense>
    );
  else if (s.status === 'loading') main = <div className="flex h-full items-center justify-center text-sm text-neutral-500">Opening library…</div>;
  else if (s.byId.size === 0) main = <EmptyLibrary />;
  else if (s.view === 'loupe' && focusId && s.byId.has(focusId))
    main = (
      <Loupe
        order={s.order}
        byId={s.byId}
        id={focusId}
        compact={compact}
        touch={coarse}
        onNavigate={(id) => library.focus(id)}
        onBack={() => library.setView('grid')}
        onSlideshow={() => library.setSlideshow(true)}
        onRate={(r) => void library.cull({ type: 'rate', rating: r })}
        onFlag={(f) => void library.cull({ type: 'flag', flag: f })}
        onInfo={toggleInfo}
        infoOpen={infoOpen}
      />
    );
  else if (s.order.length === 0) main = <NoMatches onReset={() => library.resetFilters()} />;
  else
    main = (
      <div className="relative h-full" onClick={(e) => e.target === e.currentTarget && library.clearSelection()}>
        <ImageGrid
          order={s.order}
          byId={s.byId}
          selected={s.selection.ids}
          focus={focusId}
          thumbSize={compact ? Math.min(s.thumbSize, COMPACT_THUMB) : s.thumbSize}
          showNsfw={s.showNsfw}
          nsfwThreshold={s.nsfwThreshold}
          onClick={(id, mods) => library.click(id, mods)}
          onOpen={(id) => openLoupe(id)}
          onTap={(id) => (selecting ? library.click(id, { toggle: true }) : openLoupe(id))}
          onLongPress={(id) => {
            if (!selecting) library.click(id, {});
            else if (!s.selection.ids.has(id)) library.click(id, { toggle: true });
            setSelecting(true);
            navigator.vibrate?.(15);
          }}
          onColumns={(n) => (columns.current = n)}
          stackOf={stacks.cell}
          onStack={stacks.toggle}
        />
        {(s.selection.ids.size > 0 && (!coarse || selecting)) && (
          <div className="pointer-events-none absolute inset-x-0 bottom-4 flex justify-center px-2">
            <div className="pointer-events-auto flex max-w-full items-center gap-1.5 rounded-xl border border-neutral-800 bg-neutral-900/95 px-2 py-1.5 shadow-2xl backdrop-blur pointer-coarse:gap-0.5" data-testid="selection-bar">
              <span className="px-2 text-xs text-neutral-300 tabular-nums">{s.selection.ids.size} selected</span>
              {coarse && <TouchCull ids={s.selection.ids} />}
              {!compact && <FindSimilarButton ids={[...s.selection.ids]} label={`${s.selection.ids.size} selected images`} compact />}
              <SelectionActions
                compact={compact}
                onExport={() => void exportSelection()}
                onAnalyse={() => void analyzeSelection([...s.selection.ids])}
                analyseBlocked={ready.vision.ready ? undefined : ready.vision.reason ?? 'no vision model'}
                onDelete={() => run({ type: 'delete' })}
              />
              <button type="button" aria-label="Clear selection" onClick={() => { library.clearSelection(); setSelecting(false); }} className="flex shrink-0 items-center justify-center rounded p-1.5 text-neutral-500 hover:text-neutral-100 pointer-coarse:h-11 pointer-coarse:w-11" data-testid="clear-selection"><XIcon size={14} /></button>
            </div>
          </div>
        )}
      </div>
    );

  // On phones the loupe takes the whole screen (its own bars); elsewhere the shell stays around it.
  const fullScreenLoupe = compact && s.view === 'loupe' && !!focusId && s.byId.has(focusId);
  const hasLibrary = inLibrary && s.byId.size > 0;
  return (
    <div className="flex h-full flex-col bg-neutral-950 text-neutral-100">
      {!fullScreenLoupe && (
        <TopBar compact={compact} filtersOpen={filtersOpen} onToggleFilters={() => setFiltersOpen((o) => !o)} onNewImage={() => setOverlay({ kind: 'prompt' })} onHelp={() => setOverlay({ kind: 'help' })} infoOpen={infoOpen} onToggleInfo={toggleInfo} searchFocusTick={searchFocusTick} />
      )}
      {filtersOpen && inLibrary && !fullScreenLoupe && <FilterBar />}
      {inLibrary && !fullScreenLoupe && <SearchStrip text={s.query.text} resultCount={s.order.length} />}
      {inLibrary && !fullScreenLoupe && <Suspense fallback={null}><FirstRunSlot onOpenStatus={() => library.setView('status')} /></Suspense>}
      <div className="flex min-h-0 flex-1">
        <main className="min-w-0 flex-1">{main}</main>
        {hasLibrary && !compact && infoPanel}
      </div>
      {hasLibrary && compact && infoPanel && (
        <Sheet title={focusRec ? 'Details' : 'Library'} onClose={closeSheet} testId="info-sheet">
          {infoPanel}
        </Sheet>
      )}
      {!fullScreenLoupe && (
        <StatusBar compact={compact} onAnalysisClick={() => setOverlay({ kind: 'analysis' })}>
          <JobsIndicatorSlot onOpenImage={openLoupe} onNewImage={() => setOverlay({ kind: 'prompt' })} />
          <SyncIndicatorSlot />
        </StatusBar>
      )}

      <DropTarget />
      <ImportProgressCard />
      {s.notice && <Toast kind={s.notice.kind} text={s.notice.text} onClose={closeNotice} />}
      {s.slideshow && <Slideshow order={s.order} byId={s.byId} startId={focusId} onClose={(last) => { library.setSlideshow(false); if (last) library.focus(last); }} />}
      {overlay?.kind === 'help' && <HelpOverlay onClose={() => setOverlay(null)} />}
      {overlay?.kind === 'delete' && (
        <Modal
          title={`Delete ${overlay.ids.length} image${overlay.ids.length > 1 ? 's' : ''}?`}
          onClose={() => setOverlay(null)}
          testId="confirm-delete"
          footer={
            <>
              <Button onClick={() => setOverlay(null)}>Cancel</Button>
              <Button variant="danger" data-autofocus data-testid="confirm-delete-yes" onClick={() => { void library.deleteImages(overlay.ids); setOverlay(null); }}>Delete</Button>
            </>
          }
        >
          The originals, thumbnails, ratings and tags are removed from this browser. This cannot be undone; export first if you want to keep them.
        </Modal>
      )}
      {overlay?.kind === 'prompt' && (
        <Suspense fallback={null}>
          <PromptModalSlot onClose={() => setOverlay(null)} {...(overlay.sourceId ? { sourceId: overlay.sourceId } : {})} {...(overlay.mode ? { initialMode: overlay.mode } : {})} onOpenImage={(id) => { setOverlay(null); openLoupe(id); }} />
        </Suspense>
      )}
      {overlay?.kind === 'analysis' && (
        <Modal title="Analysis queue" onClose={() => setOverlay(null)} wide>
          <Suspense fallback={null}><AnalysisPanelSlot /></Suspense>
        </Modal>
      )}
    </div>
  );
}

/** Export, analyse and delete the selection: buttons, or on phones one "more" menu. */
function SelectionActions({ compact, onExport, onAnalyse, analyseBlocked, onDelete }: { compact: boolean; onExport: () => void; onAnalyse: () => void; analyseBlocked?: string; onDelete: () => void }) {
  const [open, setOpen] = useState(false);
  const anchor = useRef<HTMLButtonElement>(null);
  const close = useCallback(() => setOpen(false), []);
  if (!compact)
    return (
      <>
        <Button variant="ghost" icon={<DownloadIcon size={14} />} onClick={onExport} data-testid="export-selection" className="pointer-coarse:h-11">Export</Button>
        <Button variant="ghost" icon={<SparklesIcon size={14} />} onClick={onAnalyse} disabled={!!analyseBlocked} title={analyseBlocked} data-testid="analyze-selection" className="pointer-coarse:h-11">Analyse</Button>
        <Button variant="ghost" icon={<TrashIcon size={14} />} onClick={onDelete} data-testid="delete-selection" className="hover:text-red-300 pointer-coarse:h-11">Delete</Button>
      </>
    );
  const then = (fn: () => void) => () => {
    close();
    fn();
  };
  return (
    <>
      <button ref={anchor} type="button" aria-label="More actions" aria-expanded={open} onClick={() => setOpen((o) => !o)} className="flex h-11 w-11 shrink-0 items-center justify-center rounded-lg text-neutral-300 active:bg-neutral-800" data-testid="selection-more">
        <MoreIcon size={18} />
      </button>
      {open && (
        <Popover anchor={anchor} onClose={close} placement="above" className="w-48" label="Selection">
          <MenuItem icon={<DownloadIcon />} onClick={then(onExport)} testId="export-selection">Export</MenuItem>
          <MenuItem icon={<SparklesIcon />} onClick={then(onAnalyse)} disabled={analyseBlocked} testId="analyze-selection">Analyse</MenuItem>
          <MenuItem icon={<TrashIcon />} onClick={then(onDelete)} testId="delete-selection">Delete…</MenuItem>
        </Popover>
      )}
    </>
  );
}

/** Rating and flags for a selection made by touch (no keyboard): 44 px targets. */
function TouchCull({ ids }: { ids: ReadonlySet<string> }) {
  const [open, setOpen] = useState(false);
  const anchor = useRef<HTMLButtonElement>(null);
  const close = useCallback(() => setOpen(false), []);
  const cull = (action: Parameters<typeof library.cull>[0]) => void library.cull(action, [...ids]);
  const btn = 'flex h-11 w-11 shrink-0 items-center justify-center rounded-lg text-neutral-300 active:bg-neutral-800';
  return (
    <>
      <button ref={anchor} type="button" aria-label="Rate" aria-expanded={open} onClick={() => setOpen((o) => !o)} className={btn} data-testid="selection-rate">
        <StarIcon size={18} />
      </button>
      <button type="button" aria-label="Pick" onClick={() => cull({ type: 'flag', flag: 'pick' })} className={btn} data-testid="selection-pick">
        <FlagIcon size={18} />
      </button>
      <button type="button" aria-label="Reject" onClick={() => cull({ type: 'flag', flag: 'reject' })} className={btn} data-testid="selection-reject">
        <RejectIcon size={18} />
      </button>
      {open && (
        <Popover anchor={anchor} onClose={close} placement="above" label="Rate the selection" testId="selection-rate-menu">
          <div className="flex">
            {([0, 1, 2, 3, 4, 5] as const).map((n) => (
              <button key={n} type="button" aria-label={n ? `${n} star${n > 1 ? 's' : ''}` : 'No rating'} onClick={() => { close(); cull({ type: 'rate', rating: n }); }} className={`${btn} text-sm tabular-nums`} data-testid={`selection-rate-${n}`}>
                {n ? `${n}★` : '0'}
              </button>
            ))}
          </div>
        </Popover>
      )}
    </>
  );
}

function Toast({ kind, text, onClose }: { kind: 'error' | 'info'; text: string; onClose: () => void }) {
  useEffect(() => {
    if (kind === 'info') {
      const t = setTimeout(onClose, 4000);
      return () => clearTimeout(t);
    }
  }, [kind, text, onClose]);
  return (
    <div role={kind === 'error' ? 'alert' : 'status'} data-testid="notice" className={`fixed right-4 bottom-12 left-4 z-50 flex max-w-md items-start gap-3 sm:left-auto rounded-xl border px-4 py-3 text-sm shadow-2xl ${kind === 'error' ? 'border-red-800 bg-red-950/95 text-red-100' : 'border-neutral-700 bg-neutral-900/95 text-neutral-200'}`}>
      <span className="flex-1">{text}</span>
      <button type="button" aria-label="Dismiss" onClick={onClose} className="text-neutral-400 hover:text-white"><XIcon size={14} /></button>
    </div>
  );
}
