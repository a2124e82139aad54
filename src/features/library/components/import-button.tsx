import { useCallback, useRef, useState, type ReactNode } from 'react';
import { Button } from '@/components/ui/button';
import { FolderIcon, ImageIcon, UploadIcon } from '@/components/ui/icons';
import { Popover } from '@/components/ui/popover';
import { library } from '../stores/library-store';
import { itemsFromFiles } from '../utils/collect-files';

const ACCEPT = 'image/*,.png,.jpg,.jpeg,.webp,.gif,.avif,.bmp,.xmp';

/**
 * The file and folder pickers: hidden inputs that stay mounted (a menu that opened them may close
 * before the user picks), and the functions that open them. Tests set files on the inputs.
 */
export function useImportPicker(): { inputs: ReactNode; pickFiles: () => void; pickFolder: () => void } {
  const files = useRef<HTMLInputElement>(null);
  const folder = useRef<HTMLInputElement>(null);
  const onPick = (input: HTMLInputElement | null) => {
    if (!input?.files?.length) return;
    void library.importItems(itemsFromFiles(input.files));
    input.value = '';
  };
  const inputs = (
    <>
      <input ref={files} type="file" multiple accept={ACCEPT} hidden data-testid="file-input" onChange={(e) => onPick(e.currentTarget)} />
      <input ref={folder} type="file" multiple hidden data-testid="folder-input" {...{ webkitdirectory: '' }} onChange={(e) => onPick(e.currentTarget)} />
    </>
  );
  return { inputs, pickFiles: useCallback(() => files.current?.click(), []), pickFolder: useCallback(() => folder.current?.click(), []) };
}

/** Import from the file picker or a folder. */
export function ImportButton({ variant = 'secondary' }: { variant?: 'primary' | 'secondary' }) {
  const { inputs, pickFiles, pickFolder } = useImportPicker();
  const [open, setOpen] = useState(false);
  const anchor = useRef<HTMLDivElement>(null);
  const close = useCallback(() => setOpen(false), []);
  const choose = (pick: () => void) => {
    setOpen(false);
    pick();
  };
  return (
    <div className="relative" ref={anchor}>
      <div className="flex">
        <Button variant={variant} icon={<UploadIcon />} onClick={pickFiles} className="rounded-r-none" data-testid="import-files" title="Import files">
          <span className={variant === 'primary' ? '' : 'hidden sm:inline'}>Import</span>
        </Button>
        <Button variant={variant} aria-label="More import options" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen((o) => !o)} className="rounded-l-none border-l border-black/20 px-1.5" data-testid="import-menu">
          ▾
        </Button>
      </div>
      {open && (
        <Popover anchor={anchor} onClose={close} className="w-56" testId="import-options" label="Import">
          <MenuItem icon={<ImageIcon />} onClick={() => choose(pickFiles)} testId="import-files-item">Files…</MenuItem>
          <MenuItem icon={<FolderIcon />} onClick={() => choose(pickFolder)} testId="import-folder">Folder…</MenuItem>
          <div className="px-2.5 py-1.5 text-[11px] text-neutral-500">or drop files and folders anywhere, or paste</div>
        </Popover>
      )}
      {inputs}
    </div>
  );
}

/** A menu entry; `disabled` is the reason it cannot be used now (shown as its tooltip). */
export function MenuItem({ icon, children, onClick, testId, disabled }: { icon: ReactNode; children: ReactNode; onClick: () => void; testId?: string; disabled?: string }) {
  return (
    <button type="button" role="menuitem" onClick={onClick} disabled={!!disabled} title={disabled} data-testid={testId} className="flex min-h-9 w-full items-center gap-2 rounded-md px-2.5 py-1.5 text-left text-neutral-200 outline-none hover:bg-neutral-800 focus-visible:bg-neutral-800 disabled:opacity-40 disabled:hover:bg-transparent pointer-coarse:min-h-11">
      <span className="text-neutral-400">{icon}</span>
      {children}
    </button>
  );
}
