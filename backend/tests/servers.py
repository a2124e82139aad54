"""Serving an app on loopback for tests that need a real socket (chunked bodies, load, faults).

conftest.py's `live_server` serves the shared tiny app; tests that need other settings (a tiny
body limit, a small queue) start their own with `serve()`. Loopback only, on a free port.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app, *, port: int | None = None, timeout: float = 60.0) -> Iterator[str]:
    """Serve `app` (from create_app) with uvicorn in a thread; yields its base URL, stops it afterwards."""
    import uvicorn

    from atelier.api.http_server import uvicorn_config

    port = port or free_port()
    # The server's own configuration (header limits and timeouts, connection cap), on loopback.
    server = uvicorn.Server(uvicorn_config(app, app.state.settings, host="127.0.0.1", port=port,
                                           log_level="warning", timeout_graceful_shutdown=2, backlog=512))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + timeout
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def raw_http(port: int, request: bytes, *, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes to 127.0.0.1:port and parse the response: for chunked bodies and lying headers
    that HTTP clients will not produce."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole body is sent
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                headers = _headers(head)
                n = headers.get("content-length")
                if n is not None and len(body) >= int(n):
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, _headers(head), body


def _headers(head: bytes) -> dict[str, str]:
    out = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.decode("latin-1").partition(":")
        out[k.strip().lower()] = v.strip()
    return out


# ----------------------------------------------------------------------------- a server process
class ServerProcess:
    """`python -m atelier` in its own process (what `make start` runs), for tests that measure its
    memory or kill it. Settings come from the environment; the working directory is `cwd`, so the
    repository's own .env is not read. `argv` replaces `-m atelier` (a wrapper that serves the same app)."""

    def __init__(self, env: dict[str, str], cwd, port: int | None = None, argv: list[str] | None = None):
        import os
        import subprocess
        import sys
        from pathlib import Path

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        backend = Path(__file__).resolve().parents[1]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("ATELIER_")}
        full_env.update({"PYTHONPATH": str(backend), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                         "ATELIER_HOST": "127.0.0.1", "ATELIER_PORT": str(self.port), "ATELIER_LOG_LEVEL": "warning",
                         "OMP_NUM_THREADS": "1", **env})
        self.log_path = Path(cwd) / f"server-{self.port}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, *(argv or ["-m", "atelier"])], cwd=cwd, env=full_env,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 120.0) -> None:
        import httpx

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/v1/status", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout:.0f} s:\n{self.log()}")

    def rss(self) -> int:
        import psutil

        return psutil.Process(self.proc.pid).memory_info().rss

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no cleanup, as a power cut or the OOM killer would."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except Exception:  # noqa: BLE001
                self.kill()
        self._log.close()


@contextmanager
def tiny_server_process(models_dir, tmp_path_factory, name: str, **env: str) -> Iterator[ServerProcess]:
    """`python -m atelier` on the tiny models, ready; stopped afterwards. `env` adds settings."""
    srv = ServerProcess({"ATELIER_MODELS": "tiny", "ATELIER_MODELS_DIR": str(models_dir),
                         "ATELIER_DATA_DIR": str(tmp_path_factory.mktemp(f"{name}-data")), "ATELIER_MODEL_TTL": "0",
                         **env}, cwd=tmp_path_factory.mktemp(f"{name}-cwd"))
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()
