// Library sync (issue 18): this browser's IndexedDB replica <-> the library on the server.
export { startSync, syncNow, syncState } from './engine/start-sync';
export { SyncIndicator } from './components/sync-indicator';
export { SyncSettings } from './components/sync-settings';
export { syncSettings } from './engine/sync-settings';
