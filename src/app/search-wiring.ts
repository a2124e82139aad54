// Composition: the search feature (meaning, find similar, stacks) arranges the library's order.
import { library, isFiltered } from '@/features/library';
import { search, stacks, startSearch } from '@/features/search';

/** Installs the arranger and starts the search feature; returns the stop function. */
export function connectSearch(): () => void {
  library.setArranger(({ order, query, withoutText, at, view }) => {
    const ranked = search.arrange({ order, text: query.text, filtered: isFiltered({ ...query, text: '' }), withoutText });
    // an order the search left as it was still says where each image stands in the sorted view
    const inView = ranked.order === order ? { inView: { at, view } } : {};
    return { order: stacks.arrange(ranked.order, { ranked: ranked.ranked, ...inView }), ranked: ranked.ranked };
  });
  const stop = startSearch({
    records: () => library.getState().byId.values(),
    rearrange: () => library.rearrange(),
    clearText: () => {
      library.setSearchText('');
      library.flushSearch();
    },
  });
  return () => {
    stop();
    library.setArranger(null);
  };
}
