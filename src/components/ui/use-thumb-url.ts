import { useEffect, useState } from 'react';
import { acquireThumbUrl, peekThumbUrl } from '@/lib/db/thumb-urls';

/** The thumbnail's object URL while the component is mounted (null until it is read). */
export function useThumbUrl(id: string): string | null {
  const [url, setUrl] = useState<string | null>(() => peekThumbUrl(id));
  useEffect(() => {
    setUrl(peekThumbUrl(id));
    return acquireThumbUrl(id, setUrl);
  }, [id]);
  return url;
}
