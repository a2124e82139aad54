import { useEffect, useState } from 'react';
import { describeError, listModels, type ModelCard } from '@/lib/api';

/** GET /v1/models filtered to upscalers, asked once `enabled` (the Upscale tab is open); `error` when the backend cannot be asked. */
export function useUpscalers(enabled: boolean): { upscalers: ModelCard[]; error?: string } {
  const [state, setState] = useState<{ upscalers: ModelCard[]; error?: string; asked: boolean }>({ upscalers: [], asked: false });
  useEffect(() => {
    if (!enabled || state.asked) return;
    const ctrl = new AbortController();
    listModels('upscaler', ctrl.signal)
      .then((upscalers) => setState({ upscalers, asked: true }))
      .catch((err: unknown) => !ctrl.signal.aborted && setState({ upscalers: [], error: describeError(err), asked: true }));
    return () => ctrl.abort();
  }, [enabled, state.asked]);
  return state;
}

/** The upscaler a request uses: the one chosen, else the first downloaded (what the server would pick), else the first. */
export function pickUpscaler(upscalers: readonly ModelCard[], chosen: string | undefined): ModelCard | undefined {
  return upscalers.find((m) => m.id === chosen) ?? upscalers.find((m) => m.downloaded !== false) ?? upscalers[0];
}
