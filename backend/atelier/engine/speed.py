"""How fast each vision model analyses, measured on the work it has done (`/v1/status` `analysis`).

Clients size their batches from it before they have timed a call of their own (a reload, a new
tab, a second client): a slow CPU-only model gets small batches, so the first captions still come
quickly, and a fast one gets full batches from the first call.
"""

from __future__ import annotations

import threading
import time
from typing import Any

SMOOTHING = 0.3  # weight of the newest batch in the moving average


class AnalysisStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_model: dict[str, dict[str, Any]] = {}

    def record(self, model_id: str, images: int, work_ms: float) -> None:
        """One finished batch: `work_ms` is the model's time on it, loading excluded."""
        if images <= 0 or work_ms < 0:
            return
        per = work_ms / images
        with self._lock:
            s = self._by_model.get(model_id)
            if s is None:
                self._by_model[model_id] = {"ms_per_image": round(per, 1), "images": images, "batches": 1,
                                            "last_at": time.time()}
                return
            s["ms_per_image"] = round((1 - SMOOTHING) * s["ms_per_image"] + SMOOTHING * per, 1)
            s["images"] += images
            s["batches"] += 1
            s["last_at"] = time.time()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._by_model.items()}
