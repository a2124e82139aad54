"""Fixtures of the library tests: each test runs against SQLite and against a real PostgreSQL.

The PostgreSQL is a throwaway cluster this test run starts (initdb + pg_ctl from Debian's
`postgresql` package, which `make test` installs), as the `postgres` user when the tests run as
root (PostgreSQL refuses to run as root). Where it is not installed the PostgreSQL half skips,
except with REQUIRE_POSTGRES=1 (set by `make test-backend`), where it fails.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from servers import free_port


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    hits = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return hits[-1] if hits else None


def _as_user() -> tuple[list[str], int | None, int | None]:
    """(command prefix, uid, gid) to run PostgreSQL's programs as a user it accepts."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        pw = pwd.getpwnam("nobody")
    return ["runuser", "-u", pw.pw_name, "--"], pw.pw_uid, pw.pw_gid


@pytest.fixture(scope="session")
def postgres_server():
    """URL prefix of a PostgreSQL cluster started for this test session (stopped at the end)."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is not installed: apt-get install postgresql (make test-backend does)")
        pytest.skip("PostgreSQL is not installed (make test-backend installs it)")
    prefix, uid, gid = _as_user()
    # not under pytest's tmp folder: that is private to the user running the tests
    root = Path(tempfile.mkdtemp(prefix="atelier-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if uid is not None:
        for p in (root, sock):
            os.chown(p, uid, gid)
    def run(*cmd: str, timeout: float) -> None:
        p = subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=timeout)
        if p.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr or p.stdout}")

    run(initdb, "-D", str(data), "-A", "trust", "-U", "atelier", "--no-sync", "-E", "UTF8", timeout=120)
    port = free_port()
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
    run(pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "-t", "60", "start", timeout=90)
    try:
        yield f"postgresql+psycopg://atelier@127.0.0.1:{port}"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def new_pg_database(server: str) -> str:
    """A fresh, empty database in the session's cluster: its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str | None:
    """None (SQLite under the data folder) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return new_pg_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def library_settings(tmp_path, database_url):
    from atelier.core.config import Settings

    models = tmp_path / "models"
    models.mkdir()
    return Settings(models="real", models_dir=models, data_dir=tmp_path / "data", ui_dir=tmp_path / "ui",
                    database_url=database_url, api_key="k", allowed_hosts=["testserver"],
                    library_max_blob_mb=4)


@pytest.fixture
def lib_client(library_settings):
    """A TestClient on the app, with the API key set."""
    from fastapi.testclient import TestClient

    from atelier.main import create_app

    with TestClient(create_app(library_settings), headers={"Authorization": "Bearer k"}) as c:
        yield c


@pytest.fixture
def data_dir(library_settings) -> Path:
    return library_settings.data_dir
