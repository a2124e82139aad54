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

/** Below 768 px (Tailwind's `md`): the phone layout (menu header, bottom sheet, full-screen loupe). */
export const COMPACT_QUERY = '(max-width: 767.98px)';
export const useCompact = () => useMediaQuery(COMPACT_QUERY);

/** A finger, not a mouse: touch targets of at least 44 px, tap opens, long press selects. */
export const useCoarsePointer = () => useMediaQuery('(pointer: coarse)');
