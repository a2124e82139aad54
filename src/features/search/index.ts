// Public surface of the search feature: search by meaning, find similar, near-duplicate stacks.
export { search, stacks, startSearch, useSearch, useStacks, type LibraryLink } from './search-service';
export { SearchStrip } from './components/search-strip';
export { StackSection } from './components/stack-section';
export { FindSimilarButton } from './components/find-similar-button';
export type { CellStack } from './stores/stack-store';
