import { useRef, useState } from 'react';
import { Button } from '@/components/ui/button';
import { FolderIcon, ImageIcon, UploadIcon } from '@/components/ui/icons';
import { library } from '../stores/library-store';
import { itemsFromFiles } from '../utils/collect-files';

const ACCEPT = 'image/*,.png,.jpg,.jpeg,.webp,.gif,.avif,.bmp,.xmp';

/** Import from the file picker or a folder. Inputs stay in the DOM so tests can set files on them. */
export function ImportButton({ variant = 'secondary' }: { variant?: 'primary' | 'secondary' }) {
  const files = useRef<HTMLInputElement>(null);
  const folder = useRef<HTMLInputElement>(null);
  const [open, setOpen] = useState(false);
  const onPick = (input: HTMLInputElement | null) => {
    if (!input?.files?.length) return;
    void library.importItems(itemsFromFiles(input.files));
    input.value = '';
  };
  return (
    <div className="relative" onMouseLeave={() => setOpen(false)}>
      <div className="flex">
        <Button variant={variant} icon={<UploadIcon />} onClick={() => files.current?.click()} className="rounded-r-none" data-testid="import-files" title="Import files">
          <span className="hidden sm:inline">Import</span>
        </Button>
        <Button variant={variant} aria-label="More import options" onClick={() => setOpen((o) => !o)} className="rounded-l-none border-l border-black/20 px-1.5" data-testid="import-menu">
          ▾
        </Button>
      </div>
      {open && (
        <div className="absolute right-0 z-30 mt-1 w-52 rounded-lg border border-neutral-800 bg-neutral-900 p-1 text-sm shadow-xl">
          <MenuItem icon={<ImageIcon />} onClick={() => files.current?.click()}>Files…</MenuItem>
          <MenuItem icon={<FolderIcon />} onClick={() => folder.current?.click()} testId="import-folder">Folder…</MenuItem>
          <div className="px-2.5 py-1.5 text-[11px] text-neutral-500">or drop files and folders anywhere, or paste</div>
        </div>
      )}
      <input ref={files} type="file" multiple accept={ACCEPT} hidden data-testid="file-input" onChange={(e) => onPick(e.currentTarget)} />
      <input ref={folder} type="file" multiple hidden data-testid="folder-input" {...{ webkitdirectory: '' }} onChange={(e) => onPick(e.currentTarget)} />
    </div>
  );
}

function MenuItem({ icon, children, onClick, testId }: { icon: React.ReactNode; children: React.ReactNode; onClick: () => void; testId?: string }) {
  return (
    <button type="button" onClick={onClick} data-testid={testId} className="flex w-full items-center gap-2 rounded-md px-2.5 py-1.5 text-left text-neutral-200 hover:bg-neutral-800">
      <span className="text-neutral-400">{icon}</span>
      {children}
    </button>
  );
}
