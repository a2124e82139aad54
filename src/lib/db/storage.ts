export interface StorageInfo {
  usage: number;
  quota: number;
  persisted: boolean;
}

/** Ask the browser not to evict the library under storage pressure. Safe to call repeatedly. */
export async function requestPersistence(): Promise<boolean> {
  const sm = globalThis.navigator?.storage;
  if (!sm?.persist) return false;
  try {
    return (await sm.persisted()) || (await sm.persist());
  } catch {
    return false;
  }
}

export async function storageInfo(): Promise<StorageInfo | null> {
  const sm = globalThis.navigator?.storage;
  if (!sm?.estimate) return null;
  const [est, persisted] = await Promise.all([sm.estimate(), sm.persisted?.() ?? Promise.resolve(false)]);
  return { usage: est.usage ?? 0, quota: est.quota ?? 0, persisted };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
