"""Tags from a VLM's free-text answer: lower case, trimmed, de-duplicated, bounded.

Models answer "comma-separated tags" in many shapes (numbered lists, bullets, hashtags, a
"Tags:" preamble, a closing full stop); this keeps the words and drops the packaging.
"""

from __future__ import annotations

import re

from atelier.core.text import xml_safe

MAX_TAGS = 20
MAX_TAG_CHARS = 40
MAX_TAG_WORDS = 4

_SPLIT = re.compile(r"[,;\n\r\t|•·]+|\s+-\s+")
_PREAMBLE = re.compile(r"^\s*(here are( some)?|the )?(tags?|keywords?)\s*(are|for this image)?\s*:\s*", re.I)
_LEADING = re.compile(r"^\s*(?:[-*+#>]+|\d+[.)]|\(?[a-z]\))\s*", re.I)
_EDGE_JUNK = re.compile(r"^[^\w]+|[^\w]+$", re.UNICODE)


def normalise_tag(raw: str) -> str | None:
    t = _LEADING.sub("", raw.strip())
    t = t.replace("_", " ").replace("#", " ")
    t = _EDGE_JUNK.sub("", t.lower())
    t = re.sub(r"\s+", " ", t).strip()
    if not t or len(t) > MAX_TAG_CHARS or len(t.split()) > MAX_TAG_WORDS:
        return None
    if not any(ch.isalpha() for ch in t):
        return None
    return t


def parse_tags(text: str, max_tags: int = MAX_TAGS) -> list[str]:
    text = _PREAMBLE.sub("", xml_safe(text or ""))
    out: list[str] = []
    seen: set[str] = set()
    for piece in _SPLIT.split(text):
        tag = normalise_tag(piece)
        if tag is None or tag in seen:
            continue
        seen.add(tag)
        out.append(tag)
        if len(out) >= max_tags:
            break
    return out
