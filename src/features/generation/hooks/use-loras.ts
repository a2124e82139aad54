import { useEffect, useState } from 'react';
import { listModels, type ModelCard } from '@/lib/api';

/** The `type: lora` entries of GET /v1/models (empty when the backend cannot be asked). */
export function useLoras(enabled = true): ModelCard[] {
  const [loras, setLoras] = useState<ModelCard[]>([]);
  useEffect(() => {
    if (!enabled) return;
    const ctrl = new AbortController();
    listModels('lora', ctrl.signal)
      .then(setLoras)
      .catch(() => !ctrl.signal.aborted && setLoras([]));
    return () => ctrl.abort();
  }, [enabled]);
  return loras;
}
