import { useEffect, useState } from 'react';
import { describeError, listModels, type ModelCard } from '@/lib/api';

/** GET /v1/models filtered to generation models; `error` when the backend cannot be asked. */
export function useGenerationModels(): { models: ModelCard[]; error?: string; loading: boolean } {
  const [state, setState] = useState<{ models: ModelCard[]; error?: string; loading: boolean }>({ models: [], loading: true });
  useEffect(() => {
    const ctrl = new AbortController();
    listModels('generation', ctrl.signal)
      .then((models) => setState({ models, loading: false }))
      .catch((err: unknown) => !ctrl.signal.aborted && setState({ models: [], error: describeError(err), loading: false }));
    return () => ctrl.abort();
  }, []);
  return state;
}
