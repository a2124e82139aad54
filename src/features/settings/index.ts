// Public surface of the settings feature (the settings store itself lives in @/lib/api/config,
// because every AI feature reads it).
export { SettingsPanel } from './components/settings-panel';
export { testBackend, testProvider } from './test-connection';
