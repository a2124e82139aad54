export { ImageGrid, type ImageGridProps } from './components/image-grid';
