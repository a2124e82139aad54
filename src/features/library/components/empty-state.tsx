import { ImageIcon } from '@/components/ui/icons';
import { Button } from '@/components/ui/button';
import { ImportButton } from './import-button';

export function EmptyLibrary() {
  return (
    <div className="flex h-full flex-col items-center justify-center gap-5 p-8 text-center" data-testid="empty-library">
      <div className="flex h-20 w-20 items-center justify-center rounded-2xl bg-neutral-900 text-amber-300 ring-1 ring-neutral-800">
        <ImageIcon size={36} />
      </div>
      <div>
        <h2 className="text-xl font-semibold text-neutral-100">Your library is empty</h2>
        <p className="mt-1 max-w-md text-sm text-neutral-400">Drop photos or whole folders anywhere in this window, paste an image, or import from disk. Everything stays in this browser: nothing is uploaded.</p>
      </div>
      <ImportButton variant="primary" />
      <p className="text-xs text-neutral-500">PNG, JPEG, WebP, GIF, AVIF · prompts from AUTOMATIC1111 and ComfyUI are read automatically</p>
    </div>
  );
}

export function NoMatches({ onReset }: { onReset: () => void }) {
  return (
    <div className="flex h-full flex-col items-center justify-center gap-3 text-center" data-testid="no-matches">
      <div className="text-base font-medium text-neutral-200">No images match</div>
      <p className="text-sm text-neutral-500">Try fewer words or loosen the filters.</p>
      <Button onClick={onReset}>Clear search and filters</Button>
    </div>
  );
}
