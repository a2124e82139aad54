import { useSyncExternalStore } from 'react';

/** Live result of a CSS media query (false where matchMedia does not exist). */
export function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (onChange) => {
      if (typeof matchMedia === 'undefined') return () => {};
      const mq = matchMedia(query);
      mq.addEventListener('change', onChange);
      return () => mq.removeEventListener('change', onChange);
    },
    () => typeof matchMedia !== 'undefined' && matchMedia(query).matches,
  );
}

/**
 * The phone layout (menu header, bottom sheet, full-screen loupe): below 768 px wide (Tailwind's
 * `md`), or a touch screen under 500 px tall (a phone held sideways).
 */
export const COMPACT_QUERY = '(max-width: 767.98px), (max-height: 499.98px) and (pointer: coarse)';
export const useCompact = () => useMediaQuery(COMPACT_QUERY);

/** A finger, not a mouse: touch targets of at least 44 px, tap opens, long press selects. */
export const useCoarsePointer = () => useMediaQuery('(pointer: coarse)');
