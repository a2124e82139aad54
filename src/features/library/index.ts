// Public surface of the library feature (the app shell composes these).
export { library, useLibrary, type Arranger, type LibraryState, type View } from './stores/library-store';
export { ImportButton, MenuItem, useImportPicker } from './components/import-button';
export { ImportProgressCard } from './components/import-progress';
export { DropTarget } from './components/drop-target';
export { EmptyLibrary, NoMatches } from './components/empty-state';
export { addUserTag, removeTag, derivedFrom } from './utils/culling';
export { isFiltered, DEFAULT_QUERY, type Query, type SortKey } from './utils/search';
export { displayPath } from './utils/import-pipeline';
