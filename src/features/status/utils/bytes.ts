export function formatBytes(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Bytes a model holds on the accelerator (or in RAM on a CPU-only machine). */
export function deviceBytes(bytes: Record<string, number> | undefined, deviceType: string | undefined): number {
  if (!bytes) return 0;
  const gpu = deviceType && deviceType !== 'cpu';
  return Object.entries(bytes).reduce((s, [dev, n]) => s + ((gpu ? dev.startsWith('cuda') || dev.startsWith('mps') : dev.startsWith('cpu')) ? n : 0), 0);
}
