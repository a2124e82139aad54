import { Fragment, useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { cancelJob, describeError, settings, setVramMode, switchModel, unloadModel, VRAM_MODES, type JobEventData, type JobSummary, type LoraStatus, type ModelStatus, type StatusResponse, type VramMode } from '@/lib/api';
import { Button } from '@/components/ui/button';
import { modelDownloads, statusPoller } from '../status-service';
import { deviceBytes, formatBytes } from '../utils/bytes';
import { DownloadRow } from './download-row';

const PALETTE = ['bg-amber-400', 'bg-sky-400', 'bg-violet-400', 'bg-emerald-400', 'bg-rose-400', 'bg-teal-300'];
const STATE_TONE: Record<string, string> = {
  on_gpu: 'bg-emerald-500/15 text-emerald-300',
  offloaded: 'bg-sky-500/15 text-sky-300',
  in_ram: 'bg-violet-500/15 text-violet-300',
  on_disk: 'bg-neutral-800 text-neutral-400',
  not_downloaded: 'bg-neutral-900 text-neutral-500 border border-neutral-800',
};
const LOADED = new Set(['on_gpu', 'offloaded', 'in_ram']);
/** "Load" brings a model onto the device now, instead of at its first job: from disk, or from the
 * RAM cache onto a GPU (without one, RAM is where loaded models live). */
const loadable = (state: string, device: string | undefined) => state === 'on_disk' || (state === 'in_ram' && device !== 'cpu');

function Card({ title, children, actions, testId }: { title: string; children: ReactNode; actions?: ReactNode; testId?: string }) {
  return (
    <section className="rounded-xl border border-neutral-800 bg-neutral-900/60 p-4" data-testid={testId}>
      <header className="mb-3 flex items-center gap-2">
        <h3 className="text-xs font-semibold uppercase tracking-wide text-neutral-400">{title}</h3>
        <div className="ml-auto flex gap-2">{actions}</div>
      </header>
      {children}
    </section>
  );
}

function modeOf(s: StatusResponse): { configured?: string; effective?: string; reason?: string; pending?: string | null } {
  return typeof s.mode === 'object' && s.mode ? (s.mode as { configured?: string; effective?: string; reason?: string; pending?: string | null }) : { effective: s.mode as string | undefined };
}

/** Device memory split by model: each loaded model, other processes, free. */
function MemoryBar({ status }: { status: StatusResponse }) {
  const dev = status.device;
  const total = dev.total_bytes ?? 0;
  const models = status.models.map((m) => ({ id: m.id, bytes: deviceBytes(m.bytes, dev.type) })).filter((m) => m.bytes > 0);
  const ours = models.reduce((s, m) => s + m.bytes, 0);
  const used = dev.used_bytes ?? ours;
  const other = Math.max(0, used - ours);
  const pct = (n: number) => (total > 0 ? `${Math.max(0.5, (n / total) * 100)}%` : '0%');
  return (
    <div className="flex flex-col gap-2" data-testid="vram-bar">
      <div className="flex h-4 w-full overflow-hidden rounded-full bg-neutral-800">
        {models.map((m, i) => (
          <div key={m.id} className={`${PALETTE[i % PALETTE.length]} h-full`} style={{ width: pct(m.bytes) }} title={`${m.id}: ${formatBytes(m.bytes)}`} />
        ))}
        {other > 0 && <div className="h-full bg-neutral-500" style={{ width: pct(other) }} title={`other: ${formatBytes(other)}`} />}
      </div>
      <div className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-neutral-400">
        {models.map((m, i) => (
          <span key={m.id} className="inline-flex items-center gap-1.5">
            <span className={`h-2 w-2 rounded-full ${PALETTE[i % PALETTE.length]}`} />
            {m.id} <span className="font-mono text-neutral-300">{formatBytes(m.bytes)}</span>
          </span>
        ))}
        {other > 0 && (
          <span className="inline-flex items-center gap-1.5">
            <span className="h-2 w-2 rounded-full bg-neutral-500" />
            other <span className="font-mono text-neutral-300">{formatBytes(other)}</span>
          </span>
        )}
        <span className="ml-auto font-mono text-neutral-300">
          {formatBytes(used)} / {formatBytes(total)}
        </span>
      </div>
    </div>
  );
}

function jobLine(j: Pick<JobSummary, 'last_event' | 'status'>): string {
  const ev = j.last_event as JobEventData | null | undefined;
  if (ev?.type === 'step' && ev.step !== undefined) return `step ${ev.step} of ${ev.total ?? '?'}`;
  return ev?.type ?? j.status;
}

/**
 * The backend at a glance: health, device, VRAM by model, mode, models, jobs. Polls gently.
 * `history`: this browser's recent generation jobs; `children`: the analysis queue's panel.
 */
export function StatusDashboard({ children, history }: { children?: ReactNode; history?: ReactNode }) {
  const poller = statusPoller();
  const state = useSyncExternalStore(poller.subscribe, poller.getSnapshot);
  const downloads = modelDownloads();
  const dl = useSyncExternalStore(downloads.subscribe, downloads.getSnapshot);
  const [actionError, setActionError] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const completed = useRef<{ at: number; n: number }[]>([]);

  useEffect(() => {
    poller.start();
    return () => poller.stop();
  }, [poller]);

  const s = state.data;
  // Throughput from the worker's completed counter, over the last minute of polls.
  const done = s?.queue?.completed;
  if (done !== undefined && completed.current.at(-1)?.n !== done) {
    completed.current = [...completed.current.filter((c) => c.at > Date.now() - 60_000), { at: Date.now(), n: done }];
  }
  const recent = completed.current;
  const perMin = recent.length > 1 ? ((recent.at(-1)!.n - recent[0]!.n) * 60_000) / Math.max(1, recent.at(-1)!.at - recent[0]!.at) : 0;

  const act = async (key: string, fn: () => Promise<unknown>) => {
    setBusy(key);
    setActionError(undefined);
    try {
      await fn();
    } catch (err) {
      setActionError(describeError(err));
    } finally {
      setBusy(undefined);
      poller.refresh();
    }
  };

  const online = !!s && !state.error;
  const mode = s ? modeOf(s) : {};
  const queued = s?.queue?.queued ?? [];
  const running = s?.queue?.running;

  return (
    <div className="h-full overflow-auto">
    <div className="mx-auto flex max-w-4xl flex-col gap-4 p-4 text-sm sm:p-6" data-testid="status-dashboard">
      <h1 className="text-base font-semibold text-neutral-100">Backend status</h1>
      <div className="flex flex-wrap items-center gap-3">
        <span className={`inline-flex items-center gap-2 rounded-full px-3 py-1 text-xs ${online ? 'bg-emerald-500/15 text-emerald-300' : 'bg-red-500/15 text-red-300'}`} data-testid="backend-health">
          <span className={`h-2 w-2 rounded-full ${online ? 'bg-emerald-400' : 'bg-red-400'}`} />
          {online ? 'Backend online' : state.data ? 'Backend unreachable' : state.error ? 'Backend unreachable' : 'Connecting…'}
        </span>
        {s && (
          <span className="text-xs text-neutral-400">
            {s.device.name ?? s.device.type} · {s.device.type === 'cpu' ? 'CPU only (float32)' : s.device.type}
            {s.version ? ` · v${s.version}` : ''}
          </span>
        )}
        {state.error && <span className="text-xs text-red-300">{state.error}</span>}
      </div>
      {actionError && (
        <p className="rounded-md border border-red-500/30 bg-red-500/10 px-3 py-2 text-xs text-red-200" role="alert" data-testid="status-error">
          {actionError}
        </p>
      )}

      {s && (
        <>
          <Card title={s.device.type === 'cpu' ? 'Memory (RAM)' : 'VRAM'}>
            <MemoryBar status={s} />
          </Card>

          <Card title="VRAM mode">
            <div className="flex flex-wrap items-center gap-3">
              <div className="inline-flex gap-1 rounded-lg bg-neutral-950 p-1" role="radiogroup" data-testid="vram-mode">
                {VRAM_MODES.map((m) => (
                  <button
                    key={m}
                    type="button"
                    role="radio"
                    aria-checked={mode.configured === m}
                    disabled={!!busy}
                    onClick={() =>
                      void act(`mode:${m}`, async () => {
                        await setVramMode(m as VramMode);
                        settings.set({ vramMode: m as VramMode });
                      })
                    }
                    className={`h-7 rounded-md px-3 text-xs capitalize ${mode.configured === m ? 'bg-neutral-700 text-amber-300' : 'text-neutral-400 hover:text-neutral-100'}`}
                  >
                    {m}
                  </button>
                ))}
              </div>
              <span className="text-xs text-neutral-400">
                effective: <span className="text-neutral-200">{mode.effective ?? '—'}</span>
                {mode.pending ? ` · switching to ${mode.pending} after the running job` : ''}
              </span>
            </div>
            {mode.reason && <p className="mt-2 text-xs text-neutral-500">{mode.reason}</p>}
          </Card>

          <Card
            title="Models"
            testId="status-models"
            actions={
              <Button variant="ghost" disabled={!!busy || !s.models.some((m) => LOADED.has(m.state))} onClick={() => void act('unload:all', () => unloadModel())}>
                Unload all
              </Button>
            }
          >
            <div className="-mx-1 overflow-x-auto px-1">
            <table className="w-full text-left text-xs">
              <thead className="text-neutral-500">
                <tr>
                  <th className="py-1 font-normal">Model</th>
                  <th className="font-normal">State</th>
                  <th className="font-normal max-sm:hidden">Precision</th>
                  <th className="text-right font-normal">Size</th>
                  <th />
                </tr>
              </thead>
              <tbody className="divide-y divide-neutral-800/70">
                {s.models.map((m: ModelStatus) => {
                  const d = dl[m.id];
                  // A finished download shows until /v1/status reports the model on disk.
                  const showDownload = d && (d.phase !== 'done' || m.state === 'not_downloaded');
                  return (
                  <Fragment key={m.id}>
                  <tr data-testid="status-model-row">
                    <td className="py-1.5 pr-2">
                      <div className="text-neutral-100">{m.id}</div>
                      <div className="text-neutral-500">{m.kind}</div>
                    </td>
                    <td>
                      <span className={`rounded-full px-2 py-0.5 ${STATE_TONE[m.state] ?? 'bg-neutral-800'}`}>
                        {m.partial_download
                          ? `partial · ${Math.floor((100 * m.partial_download.bytes_done) / Math.max(1, m.partial_download.bytes_total))}%`
                          : m.state.replace(/_/g, ' ')}
                      </span>
                    </td>
                    {m.planned && !LOADED.has(m.state) ? (
                      <>
                        <td className="text-neutral-500 italic max-sm:hidden" title="How it would load in the current VRAM mode">
                          {[m.planned.dtype, m.planned.quantization !== 'none' && m.planned.quantization, m.planned.offload !== 'none' && `${m.planned.offload} offload`].filter(Boolean).join(' · ')}
                        </td>
                        <td className="text-right font-mono text-neutral-500" data-testid="status-model-planned" title="Estimated from the model's configs">
                          ≈ {formatBytes(m.planned.gpu_bytes || m.planned.ram_bytes)}
                        </td>
                      </>
                    ) : (
                      <>
                        <td className="text-neutral-400 max-sm:hidden">{[m.dtype, m.quantization].filter(Boolean).join(' · ') || '—'}</td>
                        <td className="text-right font-mono text-neutral-300">{formatBytes(Object.values(m.bytes ?? {}).reduce((a, b) => a + b, 0) || null)}</td>
                      </>
                    )}
                    <td className="w-24 text-right whitespace-nowrap max-sm:whitespace-normal">
                      {loadable(m.state, s.device.type) && (
                        <Button
                          variant="ghost"
                          disabled={!!busy}
                          data-testid="load-model"
                          title={m.state === 'in_ram' ? 'Move it from the RAM cache onto the device now' : 'Load it now, so its first job does not wait for it'}
                          onClick={() => void act(`load:${m.id}`, () => switchModel(m.id))}
                        >
                          {busy === `load:${m.id}` ? 'Loading…' : 'Load'}
                        </Button>
                      )}
                      {LOADED.has(m.state) && (
                        <Button variant="ghost" disabled={!!busy} onClick={() => void act(`unload:${m.id}`, () => unloadModel(m.id))}>
                          {busy === `unload:${m.id}` ? '…' : 'Unload'}
                        </Button>
                      )}
                      {m.state === 'not_downloaded' && (
                        <Button
                          variant="ghost"
                          data-testid="download-model"
                          disabled={d?.phase === 'starting' || d?.phase === 'running' || d?.phase === 'done'}
                          title={m.partial_download
                            ? `An earlier download stopped at ${formatBytes(m.partial_download.bytes_done)} of ${formatBytes(m.partial_download.bytes_total)}: resume it`
                            : "Fetch this model into the backend's Hugging Face cache"}
                          onClick={() => void downloads.start(m.id)}
                        >
                          {d?.phase === 'starting' || d?.phase === 'running' ? 'Downloading…' : m.partial_download ? 'Resume' : 'Download'}
                        </Button>
                      )}
                    </td>
                  </tr>
                  {showDownload && (
                    <tr className="border-t-0!" data-testid="status-model-download">
                      <td colSpan={5} className="pb-2.5 pt-0.5">
                        <DownloadRow view={d} onRetry={() => void downloads.start(m.id)} onDismiss={() => downloads.clear(m.id)} />
                      </td>
                    </tr>
                  )}
                  </Fragment>
                  );
                })}
              </tbody>
            </table>
            </div>
          </Card>

          <Card title={`LoRAs · ${s.loras?.length ?? 0}`} testId="status-loras">
            {!s.loras?.length ? (
              <p className="text-xs text-neutral-500">None installed: put SDXL LoRA .safetensors files in ATELIER_LORAS_DIR (models/loras).</p>
            ) : (
              <div className="max-h-72 overflow-auto">
                <table className="w-full text-left text-xs">
                  <thead className="text-neutral-500">
                    <tr>
                      <th className="py-1 font-medium">Name</th>
                      <th className="font-medium">Base</th>
                      <th className="font-medium max-sm:hidden">Trigger words</th>
                      <th className="text-right font-medium">Size</th>
                    </tr>
                  </thead>
                  <tbody className="divide-y divide-neutral-800/70">
                    {s.loras.map((l: LoraStatus) => (
                      <tr key={l.name} data-testid="status-lora" title={l.short_hash ? `A1111 hash ${l.short_hash}` : undefined}>
                        <td className="max-w-[14rem] truncate py-1.5 text-neutral-200">{l.name}</td>
                        <td>
                          {l.status === 'ok' ? (
                            <span className="text-neutral-300">{l.base.toUpperCase()}</span>
                          ) : (
                            <span className="rounded bg-red-500/10 px-1.5 py-0.5 text-red-300" title={l.error ?? undefined}>
                              {l.status}
                              {l.status === 'incompatible' ? ` · ${l.base}` : ''}
                            </span>
                          )}
                        </td>
                        <td className="max-w-[16rem] truncate text-neutral-500 max-sm:hidden">{l.status === 'ok' ? l.triggers.join(', ') : l.error}</td>
                        <td className="text-right font-mono text-neutral-400">{formatBytes(l.size_bytes)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Card>

          <Card title="Jobs" testId="status-jobs" actions={<span className="text-xs text-neutral-500" title="Jobs finished per minute, over the last minute">{perMin > 0 ? `${perMin.toFixed(1)} done/min` : ''}</span>}>
            {!running && queued.length === 0 ? (
              <p className="text-xs text-neutral-500">Nothing running.</p>
            ) : (
              <ul className="flex flex-col divide-y divide-neutral-800/70 text-xs">
                {[...(running ? [running] : []), ...queued].map((j, i) => {
                  // From the click until the job leaves the list (the backend confirmed), as in the prompt modal.
                  const cancelling = busy === `cancel:${j.id}` || j.cancel_requested === true;
                  return (
                  <li key={j.id} className="flex items-center gap-3 py-1.5" data-testid="status-job" data-cancelling={cancelling || undefined}>
                    <span className={`w-16 ${i === 0 && running ? 'text-emerald-300' : 'text-neutral-500'}`}>{i === 0 && running ? 'running' : `#${running ? i : i + 1}`}</span>
                    <span className="text-neutral-200">{j.kind}</span>
                    <span className={cancelling ? 'text-amber-300' : 'text-neutral-500'}>{cancelling ? 'cancelling…' : jobLine(j)}</span>
                    <span className="text-neutral-600">{j.priority}</span>
                    {!cancelling && (
                      <Button variant="ghost" className="ml-auto" disabled={!!busy} onClick={() => void act(`cancel:${j.id}`, () => cancelJob(j.id))} data-testid="status-job-cancel">
                        Cancel
                      </Button>
                    )}
                  </li>
                  );
                })}
              </ul>
            )}
          </Card>
        </>
      )}
      {history && (
        <Card title="Recent generation jobs" testId="status-job-history">
          {history}
        </Card>
      )}
      {children && <Card title="Analysis queue">{children}</Card>}
    </div>
    </div>
  );
}
