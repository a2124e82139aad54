import { lazy } from 'react';

// The AI features and library sync, loaded lazily so the library's first paint does not wait for
// their code. Typed imports of each feature's public surface (src/features/<name>/index.ts): a
// renamed or removed export is a compile error, not a placeholder at run time.
const analysis = () => import('@/features/analysis');
const generation = () => import('@/features/generation');
const status = () => import('@/features/status');
const settings = () => import('@/features/settings');
const sync = () => import('@/features/sync');

export const StatusSlot = lazy(() => status().then((m) => ({ default: m.StatusDashboard })));
export const FirstRunSlot = lazy(() => status().then((m) => ({ default: m.FirstRunPanel })));
export const SettingsSlot = lazy(() => settings().then((m) => ({ default: m.SettingsPanel })));
export const AnalysisPanelSlot = lazy(() => analysis().then((m) => ({ default: m.AnalysisPanel })));
export const AnalysisIndicatorSlot = lazy(() => analysis().then((m) => ({ default: m.AnalysisIndicator })));
export const JobsIndicatorSlot = lazy(() => generation().then((m) => ({ default: m.JobsIndicator })));
export const JobHistorySlot = lazy(() => generation().then((m) => ({ default: m.JobHistory })));
export const PromptModalSlot = lazy(() => generation().then((m) => ({ default: m.PromptModal })));
export const SyncIndicatorSlot = lazy(() => sync().then((m) => ({ default: m.SyncIndicator })));
export const SyncSettingsSlot = lazy(() => sync().then((m) => ({ default: m.SyncSettings })));

/** Starts the analysis queue (it listens to onImported itself) and library sync. Returns a stop function. */
export function startFeatures(): () => void {
  const stops: (() => void)[] = [];
  let cancelled = false;
  void analysis().then((m) => {
    if (!cancelled) stops.push(m.startAnalysis());
  });
  void sync().then((m) => {
    if (!cancelled) stops.push(m.startSync());
  });
  return () => {
    cancelled = true;
    stops.forEach((stop) => stop());
  };
}

/** Re-analyses a selection (user work: it goes before queued imports). */
export async function analyzeSelection(ids: string[]): Promise<void> {
  await (await analysis()).analyzeRecords(ids);
}
