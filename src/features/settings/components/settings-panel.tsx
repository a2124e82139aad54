import { useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { ATELIER, describeError, listModels, settings, setVramMode, VRAM_MODES, type ModelCard, type Provider, type VramMode } from '@/lib/api';
import { Button } from '@/components/ui/button';
import { TrashIcon } from '@/components/ui/icons';
import { testBackend, testProvider, type ConnectionResult } from '../test-connection';

const label = 'text-[11px] font-medium uppercase tracking-wide text-neutral-500';
const input = 'w-full rounded-md border border-neutral-700 bg-neutral-950 px-2.5 py-1.5 text-sm text-neutral-100 outline-none placeholder:text-neutral-600 focus:border-amber-400/70';

function Field({ name, children, hint }: { name: string; children: React.ReactNode; hint?: string }) {
  return (
    <label className="flex flex-col gap-1">
      <span className={label}>{name}</span>
      {children}
      {hint && <span className="text-[11px] text-neutral-500">{hint}</span>}
    </label>
  );
}

/** A default-model picker: "Server default" plus the catalog's models of one kind. */
function ModelField({ title, models, value, onChange }: { title: string; models: ModelCard[]; value: string; onChange: (id: string) => void }) {
  return (
    <Field name={title}>
      <select className={input} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Server default</option>
        {models.map((m) => (
          <option key={m.id} value={m.id}>
            {m.id}
            {m.downloaded ? '' : ' (not downloaded)'}
          </option>
        ))}
      </select>
    </Field>
  );
}

function Result({ r, testId }: { r: ConnectionResult | 'pending' | undefined; testId?: string }) {
  if (!r) return null;
  if (r === 'pending') return <span className="text-xs text-neutral-400" data-testid={testId}>Testing…</span>;
  return (
    <span className={`text-xs ${r.ok ? 'text-emerald-300' : 'text-red-300'}`} role="status" data-testid={testId}>
      {r.ok ? '✓ ' : '✕ '}
      {r.message}
    </span>
  );
}

function ProviderRow({ p, onChange, onRemove }: { p: Provider; onChange: (p: Provider) => void; onRemove: () => void }) {
  const [result, setResult] = useState<ConnectionResult | 'pending'>();
  return (
    <li className="flex flex-col gap-2 rounded-lg border border-neutral-800 bg-neutral-950/50 p-3" data-testid="provider-row">
      <div className="grid grid-cols-1 gap-2 sm:grid-cols-[1fr_11rem]">
        <Field name="Name">
          <input className={input} value={p.name} onChange={(e) => onChange({ ...p, name: e.target.value })} placeholder="Ollama on the desktop" />
        </Field>
        <Field name="Used for">
          <select className={input} value={p.kind} onChange={(e) => onChange({ ...p, kind: e.target.value as Provider['kind'] })}>
            <option value="vision">Captions (chat)</option>
            <option value="images">Images</option>
          </select>
        </Field>
      </div>
      <Field name="Base URL" hint="Up to and including the version, e.g. /v1.">
        <input className={input} value={p.baseUrl} onChange={(e) => onChange({ ...p, baseUrl: e.target.value })} placeholder="http://192.168.1.5:11434/v1" />
      </Field>
      <div className="grid grid-cols-1 gap-2 sm:grid-cols-2">
        <Field name="Model">
          <input className={input} value={p.model} onChange={(e) => onChange({ ...p, model: e.target.value })} placeholder={p.kind === 'vision' ? 'moondream' : 'dall-e-3'} />
        </Field>
        <Field name="API key (optional)">
          <input className={input} type="password" value={p.apiKey} onChange={(e) => onChange({ ...p, apiKey: e.target.value })} autoComplete="off" />
        </Field>
      </div>
      <div className="flex items-center gap-2">
        <Button
          onClick={async () => {
            setResult('pending');
            setResult(await testProvider(p));
          }}
        >
          Test connection
        </Button>
        <Result r={result} />
        <Button variant="ghost" className="ml-auto" icon={<TrashIcon width={14} height={14} />} onClick={onRemove}>
          Remove
        </Button>
      </div>
    </li>
  );
}

/** Backend URL and key, default models, VRAM mode, analysis, and extra providers. Saved as you type. */
/** `children`: sections other features add at the end (library sync), inside the scrolling area. */
export function SettingsPanel({ children }: { children?: ReactNode } = {}) {
  const s = useSyncExternalStore(settings.subscribe, settings.get);
  const [backendResult, setBackendResult] = useState<ConnectionResult | 'pending'>();
  const [models, setModels] = useState<ModelCard[]>([]);
  const [modeError, setModeError] = useState<string>();
  const [showKey, setShowKey] = useState(false);

  useEffect(() => {
    const ctrl = new AbortController();
    listModels(undefined, ctrl.signal).then(setModels, () => setModels([]));
    return () => ctrl.abort();
  }, [s.backendUrl, s.apiKey]);

  const visionProviders = s.providers.filter((p) => p.kind === 'vision');
  const imageProviders = s.providers.filter((p) => p.kind === 'images');
  const updateProvider = (id: string, p: Provider) => settings.set({ providers: s.providers.map((x) => (x.id === id ? p : x)) });

  return (
    <div className="h-full overflow-auto">
    <div className="mx-auto flex max-w-3xl flex-col gap-6 p-4 text-sm sm:p-6" data-testid="settings-panel">
      <h1 className="text-base font-semibold text-neutral-100">Settings</h1>
      <section className="flex flex-col gap-3">
        <h3 className="text-xs font-semibold uppercase tracking-wide text-neutral-400">Atelier backend</h3>
        <Field name="Backend URL" hint="Leave empty when the UI is served by the backend (same origin).">
          <input className={input} value={s.backendUrl} onChange={(e) => settings.set({ backendUrl: e.target.value })} placeholder={typeof location !== 'undefined' ? location.origin : ''} data-testid="backend-url" />
        </Field>
        <Field name="API key" hint="Sent as a Bearer token; needed when the server sets ATELIER_API_KEY.">
          <div className="flex gap-2">
            <input className={input} type={showKey ? 'text' : 'password'} value={s.apiKey} onChange={(e) => settings.set({ apiKey: e.target.value })} autoComplete="off" data-testid="api-key" />
            <Button variant="ghost" onClick={() => setShowKey((v) => !v)}>
              {showKey ? 'Hide' : 'Show'}
            </Button>
          </div>
        </Field>
        <div className="flex items-center gap-3">
          <Button
            onClick={async () => {
              setBackendResult('pending');
              setBackendResult(await testBackend());
            }}
            data-testid="test-backend"
          >
            Test connection
          </Button>
          <Result r={backendResult} testId="backend-test-result" />
        </div>
      </section>

      <section className="grid grid-cols-1 gap-3 sm:grid-cols-2">
        <ModelField title="Default vision model" models={models.filter((m) => m.type === 'vision')} value={s.visionModel} onChange={(visionModel) => settings.set({ visionModel })} />
        <ModelField title="Default generation model" models={models.filter((m) => m.type === 'generation')} value={s.generationModel} onChange={(generationModel) => settings.set({ generationModel })} />
      </section>

      <section className="flex flex-col gap-2">
        <span className={label}>VRAM mode</span>
        <div className="inline-flex w-fit gap-1 rounded-lg bg-neutral-950 p-1" role="radiogroup" data-testid="settings-vram-mode">
          {VRAM_MODES.map((m) => (
            <button
              key={m}
              type="button"
              role="radio"
              aria-checked={s.vramMode === m}
              onClick={async () => {
                settings.set({ vramMode: m as VramMode });
                setModeError(undefined);
                try {
                  await setVramMode(m as VramMode);
                } catch (err) {
                  setModeError(describeError(err));
                }
              }}
              className={`h-7 rounded-md px-3 text-xs capitalize ${s.vramMode === m ? 'bg-neutral-700 text-amber-300' : 'text-neutral-400 hover:text-neutral-100'}`}
            >
              {m}
            </button>
          ))}
        </div>
        <span className="text-[11px] text-neutral-500">Low: 8 GB cards and below · Balanced: 12–16 GB · High: 24 GB+ · Auto picks from the card.</span>
        {modeError && <span className="text-xs text-red-300">{modeError}</span>}
      </section>

      <section className="flex flex-col gap-3">
        <h3 className="text-xs font-semibold uppercase tracking-wide text-neutral-400">Analysis</h3>
        <label className="flex items-center gap-2 text-sm text-neutral-300">
          <input type="checkbox" className="accent-amber-500" checked={s.autoAnalyze} onChange={(e) => settings.set({ autoAnalyze: e.target.checked })} data-testid="settings-auto-analyze" />
          Analyse new imports automatically (caption, tags, NSFW)
        </label>
        <label className="flex items-center gap-2 text-sm text-neutral-300">
          <input type="checkbox" className="accent-amber-500" checked={s.analyzeGenerated} onChange={(e) => settings.set({ analyzeGenerated: e.target.checked })} data-testid="settings-analyze-generated" />
          Analyse generated images too
        </label>
        <Field name={`NSFW threshold · ${Math.round(s.nsfwThreshold * 100)}%`} hint="An image is blurred and counts as NSFW when the detector's score reaches this. Higher: fewer false alarms; it applies at once to images already analysed. N on an image, or its info panel, decides for that image whatever the score.">
          <input type="range" min={0.2} max={0.95} step={0.05} value={s.nsfwThreshold} onChange={(e) => settings.set({ nsfwThreshold: Number(e.target.value) })} className="w-full max-w-sm accent-amber-400" data-testid="settings-nsfw-threshold" />
        </Field>
        <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
          <Field name="Captions and tags from">
            <select className={input} value={s.visionProvider} onChange={(e) => settings.set({ visionProvider: e.target.value })}>
              <option value={ATELIER}>Atelier backend</option>
              {visionProviders.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name || p.baseUrl}
                </option>
              ))}
            </select>
          </Field>
          <Field name="Images from">
            <select className={input} value={s.imagesProvider} onChange={(e) => settings.set({ imagesProvider: e.target.value })}>
              <option value={ATELIER}>Atelier backend</option>
              {imageProviders.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name || p.baseUrl}
                </option>
              ))}
            </select>
          </Field>
        </div>
      </section>

      <section className="flex flex-col gap-3">
        <div className="flex items-center">
          <h3 className="text-xs font-semibold uppercase tracking-wide text-neutral-400">Other providers</h3>
          <Button
            className="ml-auto"
            onClick={() =>
              settings.set({
                providers: [...s.providers, { id: `p${Date.now().toString(36)}`, name: '', kind: 'vision', baseUrl: '', apiKey: '', model: '' }],
              })
            }
            data-testid="add-provider"
          >
            Add provider
          </Button>
        </div>
        <p className="text-[11px] text-neutral-500">Any OpenAI-compatible endpoint: chat completions with images for captions (Ollama, vLLM, LM Studio), or the Images API for generation.</p>
        <ul className="flex flex-col gap-2">
          {s.providers.map((p) => (
            <ProviderRow key={p.id} p={p} onChange={(np) => updateProvider(p.id, np)} onRemove={() => settings.set({ providers: s.providers.filter((x) => x.id !== p.id) })} />
          ))}
        </ul>
      </section>
      {children}
    </div>
    </div>
  );
}
