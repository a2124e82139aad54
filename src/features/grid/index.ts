export { ImageGrid, type ImageGridProps } from './components/image-grid';
export type { GridStack } from './components/stack-badge';
