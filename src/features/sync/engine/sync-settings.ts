// The user's sync settings (localStorage through browserStorage(), this device only).
import { browserStorage } from '@/lib/browser-storage';

export type OriginalsPolicy = 'all' | 'recent' | 'ondemand';

export interface SyncSettings {
  enabled: boolean;
  /** which originals this device keeps: every one, the newest RECENT_ORIGINALS, or only those opened */
  originals: OriginalsPolicy;
}

export const RECENT_ORIGINALS = 200;
const KEY = 'atelier.sync';
const DEFAULTS: SyncSettings = { enabled: true, originals: 'recent' };
const listeners = new Set<() => void>();
let current: SyncSettings | undefined;

function read(): SyncSettings {
  try {
    const v = JSON.parse(browserStorage()?.getItem(KEY) ?? 'null') as Partial<SyncSettings> | null;
    return {
      enabled: typeof v?.enabled === 'boolean' ? v.enabled : DEFAULTS.enabled,
      originals: v?.originals === 'all' || v?.originals === 'recent' || v?.originals === 'ondemand' ? v.originals : DEFAULTS.originals,
    };
  } catch {
    return DEFAULTS;
  }
}

export const syncSettings = {
  get: (): SyncSettings => (current ??= read()),
  set(patch: Partial<SyncSettings>) {
    current = { ...syncSettings.get(), ...patch };
    try {
      browserStorage()?.setItem(KEY, JSON.stringify(current));
    } catch {
      /* not kept across reloads */
    }
    listeners.forEach((l) => l());
  },
  subscribe(fn: () => void) {
    listeners.add(fn);
    return () => void listeners.delete(fn);
  },
};
