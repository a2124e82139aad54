"""Wire format of /v1/analyze and /v1/analyze/batch (Atelier's own endpoints)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

Task = Literal["caption", "tags", "nsfw", "objects", "points"]
DEFAULT_TASKS: list[Task] = ["caption", "tags", "nsfw"]
# Boxes (or points) per object name: a few cost as much as a short caption; 50 is Moondream's own cap.
DEFAULT_MAX_OBJECTS = 10
MAX_OBJECTS = 50


class AnalyzeOptions(BaseModel):
    model_config = ConfigDict(strict=True)  # no "20" for 20, as on the OpenAI routes

    model: str | None = Field(default=None, description="A vision model id or alias; the default vision model if omitted.")
    tasks: list[Task] = Field(default_factory=lambda: list(DEFAULT_TASKS), min_length=1)
    caption_length: Literal["short", "normal", "long"] = "normal"
    max_tags: int = Field(default=20, ge=1, le=50)
    objects: list[str] | None = Field(
        default=None, max_length=10,
        description="What to locate for the 'objects' and 'points' tasks; by default the first tags found.")
    max_objects: int = Field(
        default=DEFAULT_MAX_OBJECTS, ge=1, le=MAX_OBJECTS,
        description="At most this many boxes (or points) per object name.")


class AnalyzeRequest(AnalyzeOptions):
    image: str = Field(description="Base64, a data URL, or an http(s) URL when ATELIER_ALLOW_REMOTE_IMAGES is on.")


class AnalyzeBatchRequest(AnalyzeOptions):
    images: list[str] = Field(min_length=1, description="Up to ATELIER_MAX_BATCH images, as for `image`.")


class Tag(BaseModel):
    """One tag, in the one shape the browser also stores (plus who added it): `score` is always sent."""

    name: str
    score: float | None = Field(description="The model's confidence in [0, 1], or null when it gives none "
                                            "(tags parsed from a VLM's text have none).")

    @model_serializer(mode="wrap")
    def _score_always_sent(self, handler: SerializerFunctionWrapHandler):
        # The analyze routes drop null fields (`response_model_exclude_none`: no `objects` unless
        # asked); a tag keeps its null score, so every tag has one shape on the wire. No return
        # annotation: with one, the JSON schema would describe that type instead of the fields.
        out = handler(self)
        out.setdefault("score", self.score)
        return out


class Nsfw(BaseModel):
    label: Literal["safe", "nsfw"] = Field(description="The one NSFW label, as the library record keeps it: safe or nsfw.")
    score: float


class DetectedObject(BaseModel):
    """A box in normalised coordinates: 0 is the left / top edge of the image, 1 the right / bottom."""

    name: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float


class DetectedPoint(BaseModel):
    """The centre of one object, in normalised coordinates."""

    name: str
    x: float
    y: float


class AnalyzeResult(BaseModel):
    object: Literal["analysis"] = "analysis"
    caption: str | None = None
    tags: list[Tag] | None = None
    nsfw: Nsfw | None = None
    objects: list[DetectedObject] | None = None
    points: list[DetectedPoint] | None = None
    model: str | None
    timings: dict[str, float]


class BatchItem(BaseModel):
    """One image of a batch: its analysis, or `error` (the OpenAI error object) and nothing else."""

    index: int
    caption: str | None = None
    tags: list[Tag] | None = None
    nsfw: Nsfw | None = None
    objects: list[DetectedObject] | None = None
    points: list[DetectedPoint] | None = None
    error: dict[str, Any] | None = None


class AnalyzeBatchResult(BaseModel):
    object: Literal["list"] = "list"
    data: list[BatchItem]
    model: str | None
    timings: dict[str, float]
