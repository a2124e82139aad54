// The client's connection settings: where the backend is, the API key, default models and the
// extra OpenAI-compatible providers. It lives in lib (not in features/settings) because every AI
// feature reads it and features never import each other; features/settings is only its UI.
// Framework-free: a tiny external store that React reads through useSyncExternalStore.
import { browserStorage } from '@/lib/browser-storage';
import { DEFAULT_NSFW_THRESHOLD } from '@/lib/db/nsfw';

export type VramMode = 'auto' | 'low' | 'balanced' | 'high';
export const VRAM_MODES: readonly VramMode[] = ['auto', 'low', 'balanced', 'high'];

/** An extra endpoint: OpenAI chat completions (vision) or OpenAI Images (generation). */
export interface Provider {
  id: string;
  name: string;
  kind: 'vision' | 'images';
  /** base URL including the version prefix, e.g. http://192.168.1.5:11434/v1 */
  baseUrl: string;
  apiKey: string;
  model: string;
}

export interface Settings {
  /** '' means same origin as the UI */
  backendUrl: string;
  apiKey: string;
  /** '' lets the backend choose its default */
  visionModel: string;
  generationModel: string;
  vramMode: VramMode;
  /** queue new imports for analysis automatically */
  autoAnalyze: boolean;
  /** queue generated images for analysis too, like imports */
  analyzeGenerated: boolean;
  /** an image counts as NSFW when the detector's stored score is at least this (0..1) */
  nsfwThreshold: number;
  /** 'atelier' or the id of a vision provider */
  visionProvider: string;
  /** 'atelier' or the id of an images provider */
  imagesProvider: string;
  providers: Provider[];
}

export const ATELIER = 'atelier';

export const DEFAULT_SETTINGS: Settings = {
  backendUrl: '',
  apiKey: '',
  visionModel: '',
  generationModel: '',
  vramMode: 'auto',
  autoAnalyze: true,
  analyzeGenerated: true,
  nsfwThreshold: DEFAULT_NSFW_THRESHOLD,
  visionProvider: ATELIER,
  imagesProvider: ATELIER,
  providers: [],
};

const STORAGE_KEY = 'atelier.settings.v1';

type KeyValue = Pick<Storage, 'getItem' | 'setItem'>;

function isProvider(p: unknown): p is Provider {
  if (typeof p !== 'object' || p === null) return false;
  const o = p as Record<string, unknown>;
  return (
    typeof o.id === 'string' &&
    typeof o.name === 'string' &&
    (o.kind === 'vision' || o.kind === 'images') &&
    typeof o.baseUrl === 'string' &&
    typeof o.apiKey === 'string' &&
    typeof o.model === 'string'
  );
}

/** Merge whatever was stored over the defaults, keeping only fields of the right type. */
export function sanitizeSettings(raw: unknown): Settings {
  const out: Settings = { ...DEFAULT_SETTINGS, providers: [] };
  if (typeof raw !== 'object' || raw === null) return out;
  const o = raw as Record<string, unknown>;
  for (const key of ['backendUrl', 'apiKey', 'visionModel', 'generationModel', 'visionProvider', 'imagesProvider'] as const) {
    const v = o[key];
    if (typeof v === 'string') out[key] = v;
  }
  if (typeof o.autoAnalyze === 'boolean') out.autoAnalyze = o.autoAnalyze;
  if (typeof o.analyzeGenerated === 'boolean') out.analyzeGenerated = o.analyzeGenerated;
  if (typeof o.nsfwThreshold === 'number' && Number.isFinite(o.nsfwThreshold)) out.nsfwThreshold = Math.min(1, Math.max(0, o.nsfwThreshold));
  if (VRAM_MODES.includes(o.vramMode as VramMode)) out.vramMode = o.vramMode as VramMode;
  if (Array.isArray(o.providers)) out.providers = o.providers.filter(isProvider);
  // A provider that was deleted must not stay selected.
  if (!out.providers.some((p) => p.id === out.visionProvider && p.kind === 'vision')) out.visionProvider = ATELIER;
  if (!out.providers.some((p) => p.id === out.imagesProvider && p.kind === 'images')) out.imagesProvider = ATELIER;
  return out;
}

/** 'http://host:8080/' -> 'http://host:8080'; blank stays blank (same origin). */
export function normalizeBaseUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

export interface SettingsStore {
  get(): Settings;
  set(patch: Partial<Settings>): Settings;
  reset(): void;
  subscribe(listener: () => void): () => void;
}

/**
 * `events`: where another tab's changes are heard (window's `storage` event): the tab running the
 * analysis queue must use the backend and provider chosen in any tab.
 */
export function createSettingsStore(storage?: KeyValue, events?: Pick<Window, 'addEventListener'>): SettingsStore {
  let state = load();
  const listeners = new Set<() => void>();
  events?.addEventListener('storage', (e: StorageEvent) => {
    if (e.key !== STORAGE_KEY && e.key !== null) return; // null: storage cleared
    state = load();
    for (const l of listeners) l();
  });

  function load(): Settings {
    try {
      const text = storage?.getItem(STORAGE_KEY);
      return sanitizeSettings(text ? JSON.parse(text) : null);
    } catch {
      // Corrupt JSON or storage blocked (private mode): start from the defaults.
      return sanitizeSettings(null);
    }
  }

  function commit(next: Settings) {
    state = next;
    try {
      storage?.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch {
      // Quota or privacy mode: settings still apply for this session.
    }
    for (const l of listeners) l();
  }

  return {
    get: () => state,
    set(patch) {
      commit(sanitizeSettings({ ...state, ...patch }));
      return state;
    },
    reset: () => commit(sanitizeSettings(null)),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The app's one settings store (localStorage in the browser, memory in Node tests). */
export const settings: SettingsStore = createSettingsStore(browserStorage(), typeof window === 'undefined' ? undefined : window);

export function providerById(s: Settings, id: string): Provider | undefined {
  return s.providers.find((p) => p.id === id);
}
