// Public surface of the analysis feature: the App starts it, the grid re-analyses a selection,
// the shell shows the panel and the indicator.
export { startAnalysis, analyzeRecords, analysisQueue } from './analysis-service';
export { AnalysisPanel, AnalysisIndicator } from './components/analysis-panel';
export { useAnalysisQueue } from './hooks/use-analysis-queue';
export type { QueueSnapshot } from './queue/types';
