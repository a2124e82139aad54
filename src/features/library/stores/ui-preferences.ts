// What the library view remembers across reloads (in localStorage, through the one
// browserStorage()): thumbnail size, NSFW shown or hidden, the info panel, and the sort. Filters
// are not kept. A blocked or full storage keeps them for this page only.
import { browserStorage } from '@/lib/browser-storage';
import { DEFAULT_QUERY, SORT_KEYS, type Query } from '../utils/search';

const KEYS = { thumb: 'atelier.thumbSize', nsfw: 'atelier.showNsfw', info: 'atelier.infoOpen', sort: 'atelier.sort' };

export interface UiPreferences {
  thumbSize: number;
  showNsfw: boolean;
  infoOpen: boolean;
  sort: Pick<Query, 'sort' | 'desc'>;
}

const read = (k: string): string | null => {
  try {
    return browserStorage()?.getItem(k) ?? null;
  } catch {
    return null;
  }
};

const write = (k: string, v: string): void => {
  try {
    browserStorage()?.setItem(k, v);
  } catch {
    /* private mode or a full storage: not remembered */
  }
};

/** The sort the user last chose; the default where none was saved, or what was saved is not one. */
function savedSort(): Pick<Query, 'sort' | 'desc'> {
  try {
    const v = JSON.parse(read(KEYS.sort) ?? 'null') as Partial<Query> | null;
    if (v && SORT_KEYS.includes(v.sort as Query['sort']) && typeof v.desc === 'boolean') return { sort: v.sort!, desc: v.desc };
  } catch {
    /* not JSON: the default */
  }
  return { sort: DEFAULT_QUERY.sort, desc: DEFAULT_QUERY.desc };
}

export function loadUiPreferences(): UiPreferences {
  return {
    thumbSize: Number(read(KEYS.thumb)) || 200,
    showNsfw: read(KEYS.nsfw) === '1',
    infoOpen: read(KEYS.info) !== '0',
    sort: savedSort(),
  };
}

export const saveUiPreference = {
  thumbSize: (px: number) => write(KEYS.thumb, String(px)),
  showNsfw: (on: boolean) => write(KEYS.nsfw, on ? '1' : '0'),
  infoOpen: (open: boolean) => write(KEYS.info, open ? '1' : '0'),
  sort: ({ sort, desc }: Pick<Query, 'sort' | 'desc'>) => write(KEYS.sort, JSON.stringify({ sort, desc })),
};
