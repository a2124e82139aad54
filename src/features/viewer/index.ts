export { Loupe, type LoupeProps } from './components/loupe';
export { InfoPanel, type InfoPanelProps } from './components/info-panel';
export { Slideshow } from './components/slideshow';
