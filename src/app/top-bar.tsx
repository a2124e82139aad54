import { useRef, useEffect } from 'react';
import { library, useLibrary, ImportButton, isFiltered, type SortKey, type View } from '@/features/library';
import { Button, IconButton } from '@/components/ui/button';
import { ActivityIcon, FilterIcon, GridIcon, InfoIcon, KeyboardIcon, PlusIcon, SearchIcon, SettingsIcon, XIcon } from '@/components/ui/icons';

const SORTS: { id: SortKey; label: string }[] = [
  { id: 'added', label: 'Date added' },
  { id: 'taken', label: 'Date taken' },
  { id: 'rating', label: 'Rating' },
  { id: 'name', label: 'Name' },
];

export function TopBar({ filtersOpen, onToggleFilters, onNewImage, onHelp, searchFocusTick }: { filtersOpen: boolean; onToggleFilters: () => void; onNewImage: () => void; onHelp: () => void; searchFocusTick: number }) {
  const view = useLibrary((s) => s.view);
  const text = useLibrary((s) => s.searchText);
  const query = useLibrary((s) => s.query);
  const thumbSize = useLibrary((s) => s.thumbSize);
  const infoOpen = useLibrary((s) => s.infoOpen);
  const empty = useLibrary((s) => s.status !== 'loading' && s.byId.size === 0);
  const search = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (searchFocusTick) search.current?.focus();
  }, [searchFocusTick]);
  const filtered = isFiltered(query);
  const libraryView = (view === 'grid' || view === 'loupe') && !empty;

  return (
    <header className="flex h-12 min-w-0 shrink-0 items-center gap-2 overflow-hidden border-b border-neutral-800 bg-neutral-925 px-3">
      <div className="mr-2 flex items-center gap-2">
        <div className="flex h-7 w-7 items-center justify-center rounded-md bg-gradient-to-br from-amber-300 to-orange-500 text-sm font-black text-neutral-950">A</div>
        <span className="hidden text-sm font-semibold tracking-wide text-neutral-100 lg:inline">Atelier</span>
      </div>
      <nav className="flex items-center gap-0.5 rounded-lg bg-neutral-900 p-0.5" aria-label="Views">
        <NavTab view="grid" active={view === 'grid' || view === 'loupe'} icon={<GridIcon size={14} />} label="Library" />
        <NavTab view="status" active={view === 'status'} icon={<ActivityIcon size={14} />} label="Status" />
        <NavTab view="settings" active={view === 'settings'} icon={<SettingsIcon size={14} />} label="Settings" />
      </nav>

      {libraryView && (
        <>
          <div className="relative mx-1 max-w-xl min-w-24 flex-1">
            <SearchIcon className="pointer-events-none absolute top-1/2 left-2.5 -translate-y-1/2 text-neutral-500" size={15} />
            <input
              ref={search}
              value={text}
              type="search"
              data-testid="search"
              placeholder="Search names, captions, tags, prompts…"
              onChange={(e) => library.setSearchText(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') library.flushSearch();
                if (e.key === 'Escape') (e.target as HTMLInputElement).blur();
              }}
              className="h-8 w-full rounded-lg border border-neutral-800 bg-neutral-900 pr-8 pl-8 text-sm text-neutral-100 outline-none placeholder:text-neutral-500 focus:border-amber-400/60"
            />
            {text && (
              <button type="button" aria-label="Clear search" onClick={() => library.setSearchText('')} className="absolute top-1/2 right-2 -translate-y-1/2 text-neutral-500 hover:text-neutral-200">
                <XIcon size={14} />
              </button>
            )}
          </div>
          <Button variant={filtersOpen || filtered ? 'secondary' : 'ghost'} icon={<FilterIcon size={14} />} onClick={onToggleFilters} aria-expanded={filtersOpen} data-testid="filters-toggle" className={filtered ? 'text-amber-300' : ''}>
            <span className="hidden md:inline">Filters</span>{filtered ? ' •' : ''}
          </Button>
          <label className="hidden items-center gap-1 text-xs text-neutral-400 md:flex">
            <select aria-label="Sort" data-testid="sort" value={query.sort} onChange={(e) => library.setQuery({ sort: e.target.value as SortKey })} className="h-8 rounded-lg border border-neutral-800 bg-neutral-900 px-2 text-xs text-neutral-200 outline-none">
              {SORTS.map((s) => <option key={s.id} value={s.id}>{s.label}</option>)}
            </select>
            <button type="button" aria-label={query.desc ? 'Descending' : 'Ascending'} title={query.desc ? 'Newest / highest first' : 'Oldest / lowest first'} onClick={() => library.setQuery({ desc: !query.desc })} className="h-8 w-7 rounded-lg text-neutral-300 hover:bg-neutral-800" data-testid="sort-dir">
              {query.desc ? '↓' : '↑'}
            </button>
          </label>
          {view === 'grid' && (
            <label className="ml-1 flex shrink-0 items-center gap-2 text-neutral-500" title="Thumbnail size">
              <GridIcon size={12} />
              <input type="range" min={80} max={400} step={10} value={thumbSize} onChange={(e) => library.setThumbSize(Number(e.target.value))} className="w-16 accent-amber-400 lg:w-24" data-testid="thumb-size" aria-label="Thumbnail size" />
            </label>
          )}
        </>
      )}
      <div className="ml-auto flex shrink-0 items-center gap-1.5">
        <IconButton label="Keyboard shortcuts (?)" onClick={onHelp}><KeyboardIcon /></IconButton>
        {libraryView && <IconButton label="Info panel (I)" active={infoOpen} onClick={() => library.toggleInfo()} data-testid="info-toggle"><InfoIcon /></IconButton>}
        <ImportButton />
        <Button variant="primary" icon={<PlusIcon size={15} />} onClick={onNewImage} data-testid="new-image" title="New image"><span className="hidden lg:inline">New image</span></Button>
      </div>
    </header>
  );
}

function NavTab({ view, active, icon, label }: { view: View; active: boolean; icon: React.ReactNode; label: string }) {
  return (
    <button type="button" onClick={() => library.setView(view)} title={label} data-testid={`nav-${view}`} aria-current={active ? 'page' : undefined} className={`flex h-7 items-center gap-1.5 rounded-md px-2.5 text-xs font-medium ${active ? 'bg-neutral-700 text-neutral-50' : 'text-neutral-400 hover:text-neutral-100'}`}>
      {icon}
      <span className="hidden xl:inline">{label}</span>
    </button>
  );
}
