/** "3.2/s", "12/min": whichever reads better. */
export function formatRate(perSecond: number): string {
  if (perSecond <= 0) return '—';
  if (perSecond >= 1) return `${perSecond.toFixed(perSecond >= 10 ? 0 : 1)}/s`;
  return `${(perSecond * 60).toFixed(perSecond * 60 >= 10 ? 0 : 1)}/min`;
}

/** "45 s", "3 min", "1 h 20 min". */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
