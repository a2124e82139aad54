"""OpenAI's /v1/embeddings wire format, field for field in OpenAI's order; extensions marked.

Atelier's extension: an `input` item that is an image data URL (`data:image/png;base64,...`) is
embedded by the model's image tower, into the same space as text (SigLIP). Token-id arrays
(OpenAI accepts them for its own tokenizers) mean nothing across tokenizers and are refused with
a 400 naming `input`; `dimensions` is accepted only as the model's own width (SigLIP was not
trained to be truncated). The request is strict, as OpenAI validates: `"input": 5` is a 400.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class EmbeddingsRequest(BaseModel):
    # extra="allow": OpenAI fields Atelier does not use (`user`) are accepted and ignored, as vLLM does.
    model_config = ConfigDict(extra="allow", strict=True)

    # str, or a list of str; token arrays (list[int], list[list[int]]) are typed Any here so the
    # service can refuse them with a message that says why, naming the item.
    input: Any = Field(
        description="Text, or a list of up to ATELIER_MAX_EMBEDDING_INPUTS items; an item may be an image "
                    "data URL (extension; at most ATELIER_MAX_BATCH images). Token-id arrays: 400.",
        json_schema_extra={"anyOf": [
            {"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]})
    # Required by OpenAI; optional here (extension): the server's default embeddings model.
    model: str | None = Field(None, description="An embeddings model (GET /v1/models, type `embeddings`); "
                                                "default: ATELIER_DEFAULT_EMBEDDINGS_MODEL, else the first downloaded.")
    encoding_format: Literal["float", "base64"] = Field(
        "float", description="base64: the little-endian float32 bytes of each vector.")
    dimensions: int | None = Field(None, description="Only the model's own width (768 for siglip2-base): "
                                                     "SigLIP vectors cannot be shortened.")
    user: str | None = Field(None, description="Accepted and ignored.")


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    # float: a list of numbers; base64: the little-endian float32 bytes, base64-encoded
    embedding: list[float] | str


class EmbeddingsUsage(BaseModel):
    # Text: the tokens of each input (its end token included, padding not). Images (extension):
    # the image tower's patches per image.
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingsUsage
