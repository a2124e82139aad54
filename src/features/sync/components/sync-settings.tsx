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
    <section className="flex flex-col gap-3" data-testid="sync-settings">
      <h3 className="text-xs font-semibold uppercase tracking-wide text-neutral-400">Library sync</h3>
      <label className="flex items-center gap-2 text-sm text-neutral-300">
        <input type="checkbox" className="accent-amber-500" checked={s.enabled} onChange={(e) => syncSettings.set({ enabled: e.target.checked })} data-testid="sync-enabled" />
        Keep this browser's library in sync with the server
      </label>
      <label className="flex flex-col gap-1">
        <span className="text-[11px] font-medium uppercase tracking-wide text-neutral-500">Originals on this device</span>
        <select className="w-full rounded-md border border-neutral-700 bg-neutral-950 px-2.5 py-1.5 text-sm text-neutral-100 sm:w-72" value={s.originals} onChange={(e) => syncSettings.set({ originals: e.target.value as OriginalsPolicy })} data-testid="sync-originals">
          {CHOICES.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
        <span className="text-[11px] text-neutral-500">Thumbnails and metadata are always here; other originals come from the server when you open them.</span>
      </label>
    </section>
  );
}
