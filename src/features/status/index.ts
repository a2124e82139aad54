// Public surface of the status feature. Pass the analysis panel as children to show queue throughput.
export { StatusDashboard } from './components/status-dashboard';
export { FirstRunPanel } from './components/first-run-panel';
export { statusPoller } from './status-service';
