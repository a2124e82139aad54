"""`.env.example` documents every setting, and only settings that exist (issue 8).

A field added to Settings without a documented line in .env.example fails here, and so does a
line for a setting the code no longer has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from atelier.core.config import REPO_ROOT, Settings

ENV_EXAMPLE = REPO_ROOT / ".env.example"
# `ATELIER_X=value`, active or commented out as `#ATELIER_X=value` (what the file uses for defaults)
LINE = re.compile(r"^(?P<commented>#?)(?P<name>ATELIER_[A-Z0-9_]+)=(?P<value>.*)$")


def example_lines() -> list[tuple[int, str, str, bool]]:
    """(line number, NAME, value, commented) for every ATELIER_* assignment in .env.example."""
    out = []
    for no, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        m = LINE.match(line.strip())
        if m:
            out.append((no, m["name"], m["value"], bool(m["commented"])))
    return out


def field_env_names() -> set[str]:
    return {f"ATELIER_{name.upper()}" for name in Settings.model_fields}


def test_env_example_lists_exactly_the_settings_fields():
    documented = [name for _, name, _, _ in example_lines()]
    missing = field_env_names() - set(documented)
    unknown = set(documented) - field_env_names()
    assert not missing, f"Settings fields missing from .env.example (add a commented line for each): {sorted(missing)}"
    assert not unknown, f".env.example names settings that do not exist in Settings: {sorted(unknown)}"
    dupes = {n for n in documented if documented.count(n) > 1}
    assert not dupes, f"listed twice in .env.example: {sorted(dupes)}"


def test_every_setting_in_env_example_has_a_comment_above_it():
    lines = ENV_EXAMPLE.read_text().splitlines()
    for no, name, _, _ in example_lines():
        above = lines[no - 2].strip() if no >= 2 else ""
        assert above.startswith("# ") and len(above) > 3, f".env.example:{no}: {name} needs a '# ...' comment line above it"


@pytest.mark.parametrize(("no", "name", "value", "commented"), example_lines(), ids=lambda v: v if isinstance(v, str) else None)
def test_env_example_value_parses(monkeypatch, no, name, value, commented):
    monkeypatch.setenv(name, value)
    field = name.removeprefix("ATELIER_").lower()
    settings = Settings(_env_file=None)  # parse exactly as the server would from the environment
    parsed = getattr(settings, field)
    default = Settings.model_fields[field].get_default(call_default_factory=True)
    if commented and default not in (None, [], ""):
        # A commented-out line documents the default: it must not drift from the code.
        if isinstance(default, Path):
            parsed = (REPO_ROOT / parsed).resolve()
        assert parsed == default, f".env.example:{no}: {name}={value} but the default is {default!r}"


def test_env_file_in_the_working_directory_is_read(tmp_path, monkeypatch):
    # `make start` and docker rely on pydantic-settings reading .env; keep that wired.
    (tmp_path / ".env").write_text("ATELIER_MAX_QUEUE=7\nATELIER_CORS_ORIGINS=[\"http://a.lan\"]\n")
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.max_queue == 7 and s.cors_origins == ["http://a.lan"]
