"""The NSFW signal: NudeNet's detector, whose ONNX weights (320n.onnx) ship inside the PyPI wheel.

It runs offline on the CPU through onnxruntime, so uploads get a signal before any model is
downloaded. Licence: the wheel's metadata says MIT but its LICENSE file is AGPL-3.0 (see
docs/ARCHITECTURE.md); `ATELIER_NSFW_DETECTOR=off` turns it off.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

import numpy as np
from PIL import Image

# Classes that make an image explicit; "covered" classes and faces do not.
EXPLICIT = frozenset({
    "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "BUTTOCKS_EXPOSED", "ANUS_EXPOSED",
})
THRESHOLD = 0.5


class NsfwDetector:
    def __init__(self, threshold: float = THRESHOLD):
        self.threshold = threshold
        self._detector: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._detector is None:
                from nudenet import NudeDetector

                self._detector = NudeDetector()
        return self._detector

    def classify(self, img: Image.Image) -> dict[str, Any]:
        """{"label": "nsfw" | "safe", "score": the strongest explicit detection in [0, 1]}."""
        # NudeNet converts RGBA to BGR itself, so it must be given four channels.
        arr = np.ascontiguousarray(np.asarray(img.convert("RGBA")))
        detections = self._get().detect(arr)
        score = max((float(d["score"]) for d in detections if d["class"] in EXPLICIT), default=0.0)
        label: Literal["nsfw", "safe"] = "nsfw" if score >= self.threshold else "safe"
        return {"label": label, "score": round(score, 4)}


_shared: NsfwDetector | None = None


def get_detector() -> NsfwDetector:
    global _shared
    if _shared is None:
        _shared = NsfwDetector()
    return _shared
