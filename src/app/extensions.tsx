import { lazy, type ComponentType, type ReactNode } from 'react';

// Slots for the AI features (issue 7), loaded lazily. import.meta.glob resolves to nothing for a
// module that does not exist yet, so the shell builds and runs with or without them; each slot
// falls back to a placeholder. Contract (named exports of src/features/<name>/index.ts):
//   analysis:   startAnalysis(): () => void, analyzeRecords(ids), AnalysisPanel, AnalysisIndicator({onClick})
//   generation: PromptModal({ onClose, sourceId?, initialMode?, onOpenImage? }),
//               JobsIndicator({ onOpenImage, onNewImage }), JobHistory({ onOpenImage, exists })
//   status:     StatusView (or StatusDashboard), FirstRunPanel({ onOpenStatus? })
//   settings:   SettingsView (or SettingsPanel)
//   sync:       startSync(): () => void, SyncIndicator, SyncSettings
const modules = import.meta.glob<Record<string, unknown>>(['../features/analysis/index.ts', '../features/generation/index.ts', '../features/status/index.ts', '../features/settings/index.ts', '../features/sync/index.ts']);

type Feature = 'analysis' | 'generation' | 'status' | 'settings' | 'sync';

export function loadFeature(name: Feature): Promise<Record<string, unknown> | null> {
  const load = modules[`../features/${name}/index.ts`];
  return load ? load().catch((err: unknown) => (console.error(`feature "${name}" failed to load`, err), null)) : Promise.resolve(null);
}

export const hasFeature = (name: Feature) => !!modules[`../features/${name}/index.ts`];

function Missing({ what }: { what: string }) {
  return (
    <div className="flex h-full items-center justify-center p-8 text-sm text-neutral-500" data-testid={`slot-${what.toLowerCase()}`}>
      {what} is not available in this build.
    </div>
  );
}

/** `what: null`: a small part of a screen (an indicator) that just stays away when its feature is missing. */
function slot<P extends object>(feature: Feature, names: string[], what: string | null): ComponentType<P> {
  return lazy(async () => {
    const mod = await loadFeature(feature);
    const found = names.map((n) => mod?.[n]).find((c) => typeof c === 'function' || (typeof c === 'object' && c !== null));
    return { default: (found as ComponentType<P> | undefined) ?? ((() => (what === null ? null : <Missing what={what} />)) as ComponentType<P>) };
  });
}

export const StatusSlot = slot<{ children?: ReactNode; history?: ReactNode }>('status', ['StatusView', 'StatusDashboard'], 'Status');
export const FirstRunSlot = lazy(async () => {
  // Renders nothing when the feature is missing (no placeholder in the library for it).
  const found = (await loadFeature('status'))?.['FirstRunPanel'];
  return { default: (typeof found === 'function' ? found : () => null) as ComponentType<{ onOpenStatus?: () => void }> };
});
export const SettingsSlot = slot<{ children?: ReactNode }>('settings', ['SettingsView', 'SettingsPanel'], 'Settings');
export const AnalysisPanelSlot = slot<object>('analysis', ['AnalysisPanel'], 'Analysis');
export const AnalysisIndicatorSlot = slot<{ onClick?: () => void }>('analysis', ['AnalysisIndicator'], 'Analysis');
export const JobsIndicatorSlot = slot<{ onOpenImage: (id: string) => void; onNewImage: () => void }>('generation', ['JobsIndicator'], null);
export const JobHistorySlot = slot<{ onOpenImage: (id: string) => void; exists: (id: string) => boolean }>('generation', ['JobHistory'], null);
export const PromptModalSlot = slot<{ onClose: () => void; sourceId?: string; initialMode?: string; onOpenImage?: (id: string) => void }>('generation', ['PromptModal'], 'Generation');

export const SyncIndicatorSlot = slot<object>('sync', ['SyncIndicator'], null);
export const SyncSettingsSlot = slot<object>('sync', ['SyncSettings'], null);

/** Starts the analysis queue (it listens to onImported itself) and library sync. Returns a stop function. */
export function startFeatures(): () => void {
  const stops: (() => void)[] = [];
  let cancelled = false;
  for (const [feature, name] of [['analysis', 'startAnalysis'], ['sync', 'startSync']] as const) {
    void loadFeature(feature).then((m) => {
      const start = m?.[name];
      if (!cancelled && typeof start === 'function') stops.push((start as () => () => void)());
    });
  }
  return () => {
    cancelled = true;
    stops.forEach((stop) => stop());
  };
}

export async function analyzeSelection(ids: string[]): Promise<boolean> {
  const m = await loadFeature('analysis');
  const fn = m?.['analyzeRecords'];
  if (typeof fn !== 'function') return false;
  await (fn as (ids: string[]) => Promise<void>)(ids);
  return true;
}
