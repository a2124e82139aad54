"""Text that goes into files other tools parse."""

from __future__ import annotations

import re

# What XML 1.0 allows: tab, LF, CR and everything from U+0020 but surrogates, U+FFFE and U+FFFF.
# Vision models emit the rest now and then (a stray control token decoded to \x07 or \x00); one of
# them makes an XMP sidecar not well-formed and expat-based readers (Adobe XMP Toolkit, exiftool,
# digiKam) refuse the whole file.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids."""
    return _NOT_XML.sub("", text)
