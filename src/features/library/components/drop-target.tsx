import { useEffect, useState } from 'react';
import { UploadIcon } from '@/components/ui/icons';
import { isTypingTarget } from '@/components/ui/is-typing-target';
import { library } from '../stores/library-store';
import { itemsFromDataTransfer, itemsFromFiles } from '../utils/collect-files';

/** Window-wide drag-and-drop (files and folders) and paste. */
export function DropTarget() {
  const [over, setOver] = useState(false);
  useEffect(() => {
    let depth = 0;
    const hasFiles = (e: DragEvent) => !!e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files');
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth++;
      setOver(true);
    };
    const leave = () => {
      depth = Math.max(0, depth - 1);
      if (!depth) setOver(false);
    };
    const overFn = (e: DragEvent) => hasFiles(e) && e.preventDefault();
    const drop = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      setOver(false);
      void itemsFromDataTransfer(e.dataTransfer!).then((items) => library.importItems(items));
    };
    const paste = (e: ClipboardEvent) => {
      if (isTypingTarget(document.activeElement)) return;
      const files = e.clipboardData?.files;
      if (files?.length) {
        e.preventDefault();
        const named = Array.from(files, (f, i) => (f.name && f.name !== 'image.png' ? f : new File([f], `pasted-${new Date().toISOString().replace(/[:.]/g, '-')}-${i + 1}.${f.type.split('/')[1] ?? 'png'}`, { type: f.type })));
        void library.importItems(itemsFromFiles(named));
      }
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragleave', leave);
    window.addEventListener('dragover', overFn);
    window.addEventListener('drop', drop);
    window.addEventListener('paste', paste);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('dragover', overFn);
      window.removeEventListener('drop', drop);
      window.removeEventListener('paste', paste);
    };
  }, []);
  if (!over) return null;
  return (
    <div className="pointer-events-none fixed inset-0 z-50 flex items-center justify-center bg-amber-400/5 p-8">
      <div className="flex h-full w-full flex-col items-center justify-center gap-3 rounded-2xl border-2 border-dashed border-amber-400/70 bg-neutral-950/80 text-amber-200">
        <UploadIcon size={40} />
        <div className="text-lg font-medium">Drop images or folders to import</div>
      </div>
    </div>
  );
}
