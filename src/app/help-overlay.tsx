import { Modal } from '@/components/ui/modal';
import { Kbd } from '@/components/ui/form';
import { SHORTCUTS } from './keymap';

export function HelpOverlay({ onClose }: { onClose: () => void }) {
  const groups = [...new Set(SHORTCUTS.map((s) => s.group))];
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose} wide testId="help-overlay">
      <div className="grid grid-cols-1 gap-6 sm:grid-cols-3">
        {groups.map((g) => (
          <div key={g}>
            <h3 className="mb-2 text-[11px] font-semibold tracking-wider text-neutral-500 uppercase">{g}</h3>
            <ul className="space-y-1.5">
              {SHORTCUTS.filter((s) => s.group === g).map((s) => (
                <li key={s.label} className="flex items-center justify-between gap-3">
                  <span className="text-neutral-300">{s.label}</span>
                  <span className="flex shrink-0 gap-1">{s.keys.map((k) => (k === '…' ? <span key={k} className="text-neutral-500">…</span> : <Kbd key={k}>{k}</Kbd>))}</span>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </div>
      <p className="mt-5 text-xs text-neutral-500">Ratings and flags apply to every selected image at once. Shortcuts are off while you type in a field.</p>
    </Modal>
  );
}
