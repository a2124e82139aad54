import { useEffect, useState } from 'react';
import { getRecord } from '@/lib/db/library-api';

const cache = new Map<string, string>();

/** File names for record ids, looked up once each (the panel shows names, not ids). */
export function useRecordNames(ids: readonly string[]): Map<string, string> {
  const [, bump] = useState(0);
  const key = ids.join(',');
  useEffect(() => {
    const missing = ids.filter((id) => !cache.has(id));
    if (missing.length === 0) return;
    let live = true;
    void Promise.all(missing.map(async (id) => cache.set(id, (await getRecord(id))?.name ?? id))).then(() => live && bump((n) => n + 1));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return cache;
}
