import { useSyncExternalStore } from 'react';
import { syncSettings, type OriginalsPolicy, RECENT_ORIGINALS } from '../engine/sync-settings';

const CHOICES: { value: OriginalsPolicy; label: string }[] = [
  { value: 'all', label: 'All' },
  { value: 'recent', label: `Recent (newest ${RECENT_ORIGINALS})` },
  { value: 'ondemand', label: 'On demand' },
];

/** Settings > Library sync: on/off, and which originals this device keeps. */
export function SyncSettings() {
  const s = useSyncExternalStore(syncSettings.subscribe, syncSettings.get);
  return (
    <section className="space-y-3" data-testid="sync-settings">
      <h3 className="text-sm font-medium text-neutral-200">Library sync</h3>
      <label className="flex min-h-11 items-center gap-2 text-sm text-neutral-300">
        <input type="checkbox" checked={s.enabled} onChange={(e) => syncSettings.set({ enabled: e.target.checked })} data-testid="sync-enabled" />
        Keep this browser's library in sync with the server
      </label>
      <label className="block text-sm text-neutral-300">
        <span className="mb-1 block">Originals on this device</span>
        <select className="min-h-11 rounded border border-neutral-700 bg-neutral-900 px-2 text-sm" value={s.originals} onChange={(e) => syncSettings.set({ originals: e.target.value as OriginalsPolicy })} data-testid="sync-originals">
          {CHOICES.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
        <span className="mt-1 block text-xs text-neutral-500">Thumbnails and metadata are always here; other originals come from the server when you open them.</span>
      </label>
    </section>
  );
}
