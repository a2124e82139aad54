import { useMemo, useState } from 'react';
import type { ModelCard } from '@/lib/api';
import { searchLoras, type LoraChoice } from '../utils/lora-reuse';

const label = 'text-[11px] font-medium uppercase tracking-wide text-neutral-500';

export interface LoraPickerProps {
  /** every `type: lora` entry of GET /v1/models (incompatible and unreadable ones are shown, disabled) */
  loras: ModelCard[];
  value: LoraChoice[];
  onChange: (next: LoraChoice[]) => void;
  /** a trigger word chip was pressed: add it to the prompt */
  onTrigger: (words: string) => void;
}

const MAX_LORAS = 8; // the backend's limit (docs/API.md, LoRA)

/** Search, add, weigh and remove LoRAs; each chosen LoRA's trigger words are chips for the prompt. */
export function LoraPicker({ loras, value, onChange, onTrigger }: LoraPickerProps) {
  const [query, setQuery] = useState('');
  const chosen = new Set(value.map((v) => v.name));
  const matches = useMemo(() => searchLoras(loras, query).slice(0, 50), [loras, query]);
  const byId = new Map(loras.map((m) => [m.id, m]));
  const setWeight = (name: string, weight: number) => onChange(value.map((v) => (v.name === name ? { ...v, weight } : v)));

  return (
    <div className="flex flex-col gap-2" data-testid="lora-picker">
      <span className={label}>LoRAs {value.length > 0 && <span className="text-neutral-400">· {value.length}</span>}</span>
      {value.map((v) => {
        const m = byId.get(v.name);
        return (
          <div key={v.name} className="rounded-md border border-neutral-800 bg-neutral-950/60 p-2" data-testid="lora-chosen">
            <div className="flex items-center gap-2">
              <span className="min-w-0 flex-1 truncate text-xs text-neutral-200" title={v.name}>
                {v.name}
              </span>
              <span className="font-mono text-xs tabular-nums text-neutral-300">{v.weight.toFixed(2)}</span>
              <button type="button" className="text-xs text-neutral-500 hover:text-red-300" onClick={() => onChange(value.filter((x) => x.name !== v.name))} aria-label={`Remove ${v.name}`}>
                ✕
              </button>
            </div>
            <input type="range" min={-1} max={2} step={0.05} value={v.weight} onChange={(e) => setWeight(v.name, Number(e.target.value))} className="w-full accent-amber-500" aria-label={`Weight of ${v.name}`} data-testid="lora-weight" />
            {!!m?.lora?.triggers.length && (
              <div className="mt-1 flex flex-wrap gap-1">
                {m.lora.triggers.map((t) => (
                  <button key={t} type="button" onClick={() => onTrigger(t)} className="rounded-full border border-amber-500/30 bg-amber-500/10 px-2 py-0.5 text-[11px] text-amber-200 hover:bg-amber-500/20" title="Add to the prompt" data-testid="lora-trigger">
                    + {t}
                  </button>
                ))}
              </div>
            )}
          </div>
        );
      })}
      {loras.length === 0 ? (
        <p className="text-[11px] leading-snug text-neutral-500">No LoRAs installed: put SDXL LoRA .safetensors files in ATELIER_LORAS_DIR (models/loras).</p>
      ) : (
        <>
          <input type="search" className="w-full rounded-md border border-neutral-700 bg-neutral-950 px-2.5 py-1.5 text-sm text-neutral-100 outline-none placeholder:text-neutral-600 focus:border-amber-400/70" placeholder={`Search ${loras.length} LoRAs…`} value={query} onChange={(e) => setQuery(e.target.value)} data-testid="lora-search" />
          <ul className="max-h-36 overflow-y-auto rounded-md border border-neutral-800" role="listbox" aria-label="LoRAs">
            {matches.map((m) => {
              const usable = !!m.lora?.compatible;
              const disabled = !usable || chosen.has(m.id) || value.length >= MAX_LORAS;
              return (
                <li key={m.id}>
                  <button
                    type="button"
                    role="option"
                    aria-selected={chosen.has(m.id)}
                    disabled={disabled}
                    onClick={() => onChange([...value, { name: m.id, weight: 1 }])}
                    title={usable ? m.lora?.triggers.join(', ') || m.description : m.description}
                    className="flex w-full items-baseline gap-2 px-2 py-1 text-left text-xs text-neutral-200 hover:bg-neutral-800 disabled:cursor-not-allowed disabled:opacity-40"
                    data-testid="lora-option"
                  >
                    <span className="min-w-0 flex-1 truncate">{m.id}</span>
                    <span className="shrink-0 text-[10px] text-neutral-500">{usable ? m.lora?.base.toUpperCase() : m.lora?.status}</span>
                  </button>
                </li>
              );
            })}
            {matches.length === 0 && <li className="px-2 py-1 text-xs text-neutral-500">No LoRA matches “{query}”.</li>}
          </ul>
        </>
      )}
    </div>
  );
}
