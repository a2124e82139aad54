import { useEffect, useLayoutEffect, useState, type RefObject } from 'react';
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

/**
 * Puts the thumbnail straight into an <img> without rendering the component again: the grid
 * mounts hundreds of cells a second during a fast scroll, and two extra React renders per cell
 * (URL ready, image loaded) were most of a frame's main-thread time. The element gets
 * `data-loaded` once it has decoded, for CSS to hide the placeholder.
 */
export function useThumbInto(ref: RefObject<HTMLImageElement | null>, id: string): void {
  useLayoutEffect(() => {
    const img = ref.current;
    if (!img) return;
    const show = () => img.setAttribute('data-loaded', '');
    img.addEventListener('load', show);
    const release = acquireThumbUrl(id, (url) => {
      if (url && img.getAttribute('src') !== url) img.src = url;
    });
    return () => {
      release();
      img.removeEventListener('load', show);
    };
  }, [ref, id]);
}
