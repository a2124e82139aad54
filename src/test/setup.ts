// Unit tests run in Node: fake-indexeddb gives idb-keyval a real IndexedDB implementation.
import 'fake-indexeddb/auto';
