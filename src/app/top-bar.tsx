import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { library, useLibrary, ImportButton, MenuItem, isFiltered, useImportPicker, type SortKey, type View } from '@/features/library';
import { Button, IconButton } from '@/components/ui/button';
import { Popover } from '@/components/ui/popover';
import { useMediaQuery } from '@/components/ui/use-media-query';
import { ActivityIcon, FilterIcon, FolderIcon, GridIcon, ImageIcon, InfoIcon, KeyboardIcon, MenuIcon, PlusIcon, SearchIcon, SettingsIcon, XIcon } from '@/components/ui/icons';

const SORTS: { id: SortKey; label: string }[] = [
  { id: 'added', label: 'Date added' },
  { id: 'taken', label: 'Date taken' },
  { id: 'rating', label: 'Rating' },
  { id: 'name', label: 'Name' },
];

const VIEWS: { view: View; label: string; icon: ReactNode }[] = [
  { view: 'grid', label: 'Library', icon: <GridIcon size={14} /> },
  { view: 'status', label: 'Status', icon: <ActivityIcon size={14} /> },
  { view: 'settings', label: 'Settings', icon: <SettingsIcon size={14} /> },
];

export interface TopBarProps {
  /** the phone layout: everything but search and filters goes into a menu */
  compact: boolean;
  filtersOpen: boolean;
  onToggleFilters: () => void;
  onNewImage: () => void;
  onHelp: () => void;
  /** the info panel (a side panel, or on phones a bottom sheet) */
  infoOpen: boolean;
  onToggleInfo: () => void;
  searchFocusTick: number;
}

export function TopBar(props: TopBarProps) {
  const { compact, filtersOpen, onToggleFilters, onNewImage, onHelp, infoOpen, onToggleInfo, searchFocusTick } = props;
  const view = useLibrary((s) => s.view);
  const query = useLibrary((s) => s.query);
  const thumbSize = useLibrary((s) => s.thumbSize);
  const empty = useLibrary((s) => s.status !== 'loading' && s.byId.size === 0);
  const filtered = isFiltered(query);
  const libraryView = (view === 'grid' || view === 'loupe') && !empty;
  const wide = useMediaQuery('(min-width: 1024px)');

  // The header never hides its overflow: menus open in a layer of their own (Popover), and the
  // layout below keeps everything on screen from 768 px up; narrower screens get the compact bar.
  if (compact) return <CompactBar {...props} libraryView={libraryView} filtered={filtered} />;

  return (
    <header className="flex h-12 min-w-0 shrink-0 items-center gap-2 border-b border-neutral-800 bg-neutral-925 px-3 pointer-coarse:h-14" data-testid="top-bar">
      <Logo />
      <nav className="flex shrink-0 items-center gap-0.5 rounded-lg bg-neutral-900 p-0.5" aria-label="Views">
        {VIEWS.map((v) => <NavTab key={v.view} {...v} active={v.view === view || (v.view === 'grid' && view === 'loupe')} />)}
      </nav>

      {libraryView && (
        <>
          <SearchBox focusTick={searchFocusTick} placeholder={wide ? undefined : 'Search'} />
          <Button variant={filtersOpen || filtered ? 'secondary' : 'ghost'} icon={<FilterIcon size={14} />} onClick={onToggleFilters} aria-expanded={filtersOpen} data-testid="filters-toggle" className={`shrink-0 ${filtered ? 'text-amber-300' : ''}`}>
            <span className="hidden lg:inline">Filters</span>{filtered ? ' •' : ''}
          </Button>
          <SortControl className="hidden shrink-0 items-center gap-1 text-xs text-neutral-400 md:flex" />
          {view === 'grid' && (
            <label className="ml-1 hidden shrink-0 items-center gap-2 text-neutral-500 lg:flex" title="Thumbnail size">
              <GridIcon size={12} />
              <input type="range" min={80} max={400} step={10} value={thumbSize} onChange={(e) => library.setThumbSize(Number(e.target.value))} className="w-16 accent-amber-400 xl:w-24" data-testid="thumb-size" aria-label="Thumbnail size" />
            </label>
          )}
        </>
      )}
      <div className="ml-auto flex shrink-0 items-center gap-1.5">
        <span className="hidden pointer-fine:contents">
          <IconButton label="Keyboard shortcuts (?)" onClick={onHelp}><KeyboardIcon /></IconButton>
        </span>
        {libraryView && <IconButton label="Info panel (I)" active={infoOpen} onClick={onToggleInfo} data-testid="info-toggle"><InfoIcon /></IconButton>}
        <ImportButton />
        <Button variant="primary" icon={<PlusIcon size={15} />} onClick={onNewImage} data-testid="new-image" title="New image"><span className="hidden xl:inline">New image</span></Button>
      </div>
    </header>
  );
}

function Logo() {
  return (
    <div className="mr-1 flex shrink-0 items-center gap-2">
      <div className="flex h-7 w-7 items-center justify-center rounded-md bg-gradient-to-br from-amber-300 to-orange-500 text-sm font-black text-neutral-950">A</div>
      <span className="hidden text-sm font-semibold tracking-wide text-neutral-100 xl:inline">Atelier</span>
    </div>
  );
}

function SearchBox({ focusTick, className = '', placeholder = 'Search names, captions, tags, prompts…' }: { focusTick: number; className?: string; placeholder?: string | undefined }) {
  const text = useLibrary((s) => s.searchText);
  const search = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (focusTick) search.current?.focus();
  }, [focusTick]);
  return (
    <div className={`relative mx-1 max-w-xl min-w-20 flex-1 ${className}`}>
      <SearchIcon className="pointer-events-none absolute top-1/2 left-2.5 -translate-y-1/2 text-neutral-500" size={15} />
      <input
        ref={search}
        value={text}
        type="search"
        data-testid="search"
        aria-label="Search"
        placeholder={placeholder}
        onChange={(e) => library.setSearchText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') library.flushSearch();
          if (e.key === 'Escape') (e.target as HTMLInputElement).blur();
        }}
        className="h-8 w-full rounded-lg border border-neutral-800 bg-neutral-900 pr-8 pl-8 text-sm text-neutral-100 outline-none placeholder:text-neutral-500 focus:border-amber-400/60 pointer-coarse:h-10 pointer-coarse:text-base"
      />
      {text && (
        <button type="button" aria-label="Clear search" onClick={() => library.setSearchText('')} className="absolute top-1/2 right-1 flex h-8 w-8 -translate-y-1/2 items-center justify-center text-neutral-500 hover:text-neutral-200">
          <XIcon size={14} />
        </button>
      )}
    </div>
  );
}

function SortControl({ className }: { className: string }) {
  const query = useLibrary((s) => s.query);
  return (
    <label className={className}>
      <span className="sr-only">Sort</span>
      <select aria-label="Sort" data-testid="sort" value={query.sort} onChange={(e) => library.setQuery({ sort: e.target.value as SortKey })} className="h-8 rounded-lg border border-neutral-800 bg-neutral-900 px-2 text-xs text-neutral-200 outline-none pointer-coarse:h-11 pointer-coarse:text-sm">
        {SORTS.map((s) => <option key={s.id} value={s.id}>{s.label}</option>)}
      </select>
      <button type="button" aria-label={query.desc ? 'Descending' : 'Ascending'} title={query.desc ? 'Newest / highest first' : 'Oldest / lowest first'} onClick={() => library.setQuery({ desc: !query.desc })} className="h-8 w-7 rounded-lg text-neutral-300 hover:bg-neutral-800 pointer-coarse:h-11 pointer-coarse:w-11" data-testid="sort-dir">
        {query.desc ? '↓' : '↑'}
      </button>
    </label>
  );
}

function NavTab({ view, active, icon, label }: { view: View; active: boolean; icon: ReactNode; label: string }) {
  return (
    <button type="button" onClick={() => library.setView(view)} title={label} data-testid={`nav-${view}`} aria-current={active ? 'page' : undefined} className={`flex h-7 items-center gap-1.5 rounded-md px-2.5 text-xs font-medium ${active ? 'bg-neutral-700 text-neutral-50' : 'text-neutral-400 hover:text-neutral-100'}`}>
      {icon}
      <span className="hidden xl:inline">{label}</span>
    </button>
  );
}

/** Phones: the logo, search and filters stay; views, import, new image, sort and the rest go into one menu. */
function CompactBar({ filtersOpen, onToggleFilters, onNewImage, onHelp, infoOpen, onToggleInfo, searchFocusTick, libraryView, filtered }: TopBarProps & { libraryView: boolean; filtered: boolean }) {
  const view = useLibrary((s) => s.view);
  const [open, setOpen] = useState(false);
  const anchor = useRef<HTMLButtonElement>(null);
  const close = useCallback(() => setOpen(false), []);
  const { inputs, pickFiles, pickFolder } = useImportPicker();
  const then = (fn: () => void) => () => {
    setOpen(false);
    fn();
  };
  const title = VIEWS.find((v) => v.view === view)?.label ?? 'Library';
  return (
    <header className="flex h-14 min-w-0 shrink-0 items-center gap-1.5 border-b border-neutral-800 bg-neutral-925 px-2" data-testid="top-bar" data-compact>
      <Logo />
      {libraryView ? (
        <>
          <SearchBox focusTick={searchFocusTick} className="mx-0" placeholder="Search" />
          <button type="button" aria-label="Filters" aria-expanded={filtersOpen} onClick={onToggleFilters} data-testid="filters-toggle" className={`relative flex h-11 w-11 shrink-0 items-center justify-center rounded-lg ${filtersOpen ? 'bg-neutral-800 text-neutral-100' : 'text-neutral-400'} ${filtered ? 'text-amber-300' : ''}`}>
            <FilterIcon size={18} />
            {filtered && <span className="absolute top-2 right-2 h-2 w-2 rounded-full bg-amber-400" />}
          </button>
        </>
      ) : (
        <h1 className="flex-1 truncate pl-1 text-sm font-semibold text-neutral-100">{title}</h1>
      )}
      <button ref={anchor} type="button" aria-label="Menu" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen((o) => !o)} data-testid="menu-toggle" className={`flex h-11 w-11 shrink-0 items-center justify-center rounded-lg ${open ? 'bg-neutral-800 text-neutral-100' : 'text-neutral-300'}`}>
        <MenuIcon size={20} />
      </button>
      {inputs}
      {open && (
        <Popover anchor={anchor} onClose={close} className="w-72" testId="app-menu" label="Menu">
          <nav className="grid grid-cols-3 gap-1 p-1" aria-label="Views">
            {VIEWS.map((v) => {
              const active = v.view === view || (v.view === 'grid' && view === 'loupe');
              return (
                <button key={v.view} type="button" onClick={then(() => library.setView(v.view))} data-testid={`menu-nav-${v.view}`} aria-current={active ? 'page' : undefined} className={`flex min-h-14 flex-col items-center justify-center gap-1 rounded-lg text-xs ${active ? 'bg-neutral-700 text-neutral-50' : 'text-neutral-300 hover:bg-neutral-800'}`}>
                  {v.icon}
                  {v.label}
                </button>
              );
            })}
          </nav>
          <div className="my-1 border-t border-neutral-800" />
          <MenuItem icon={<PlusIcon />} onClick={then(onNewImage)} testId="menu-new-image">New image</MenuItem>
          <MenuItem icon={<ImageIcon />} onClick={then(pickFiles)} testId="menu-import-files">Import files…</MenuItem>
          <MenuItem icon={<FolderIcon />} onClick={then(pickFolder)} testId="menu-import-folder">Import a folder…</MenuItem>
          {libraryView && (
            <>
              <div className="my-1 border-t border-neutral-800" />
              <MenuItem icon={<InfoIcon />} onClick={then(onToggleInfo)} testId="menu-info">{infoOpen ? 'Hide details' : 'Details'}</MenuItem>
              <div className="flex items-center justify-between gap-2 px-2.5 py-1 text-neutral-300">
                <span>Sort</span>
                <SortControl className="flex items-center gap-1" />
              </div>
            </>
          )}
          <div className="hidden pointer-fine:block">
            <MenuItem icon={<KeyboardIcon />} onClick={then(onHelp)}>Keyboard shortcuts</MenuItem>
          </div>
        </Popover>
      )}
    </header>
  );
}
