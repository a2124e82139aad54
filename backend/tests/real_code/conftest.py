"""Moondream 2's real remote code, run by the unchanged server (tests marked `real_code`).

ATELIER_MOONDREAM_CODE names a checkout (or bare git dir) of github.com/vikhyat/moondream;
ATELIER_MOONDREAM_COMMIT the commit (default 44146f1, the last before the pinned 2025-06-21
revision). scripts/moondream_rig.py lays the code out as an offline Hugging Face cache with tiny
random weights; servers read it through HF_HOME. Without ATELIER_MOONDREAM_CODE (CI, which has no
copy of the code) every test here is skipped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

CODE = os.environ.get("ATELIER_MOONDREAM_CODE")
COMMIT = os.environ.get("ATELIER_MOONDREAM_COMMIT", "44146f1")
REPO = Path(__file__).resolve().parents[3]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.real_code)
            if not CODE:
                item.add_marker(pytest.mark.skip(reason="ATELIER_MOONDREAM_CODE is not set (a checkout of "
                                                        "github.com/vikhyat/moondream)"))


@pytest.fixture(scope="session")
def rig(tmp_path_factory) -> Path:
    """HF_HOME of an offline cache holding the real code and tiny random weights."""
    out = tmp_path_factory.mktemp("moondream-rig")
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "moondream_rig.py"), "--code", CODE,
                          "--commit", COMMIT, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return out


class Blackhole:
    """A "hub" that accepts connections and never answers: the network as a pulled cable looks to a
    client with a timeout. Counts who tried."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)

    def close(self):
        self.sock.close()
        for c in self._held:
            c.close()


@pytest.fixture(scope="session")
def hub_blackhole():
    bh = Blackhole()
    yield bh
    bh.close()
