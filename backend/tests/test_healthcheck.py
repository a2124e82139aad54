"""`python -m atelier.healthcheck` (Docker HEALTHCHECK): asks /v1/status on loopback, with the API key."""

from __future__ import annotations

import urllib.error

from atelier import healthcheck


class Answer:
    def __init__(self, status: int):
        self.status = status

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_healthcheck_sends_the_api_key_to_loopback_and_passes_on_200(monkeypatch):
    seen = {}

    def urlopen(req, timeout):
        seen["url"], seen["auth"], seen["timeout"] = req.full_url, req.get_header("Authorization"), timeout
        return Answer(200)

    monkeypatch.setenv("ATELIER_HOST", "0.0.0.0")
    monkeypatch.setenv("ATELIER_PORT", "9123")
    monkeypatch.setenv("ATELIER_API_KEY", "sekrit")
    monkeypatch.setattr(healthcheck.urllib.request, "urlopen", urlopen)
    assert healthcheck.main() == 0
    assert seen == {"url": "http://127.0.0.1:9123/v1/status", "auth": "Bearer sekrit", "timeout": 5}


def test_healthcheck_fails_when_the_server_does_not_answer(monkeypatch, capsys):
    def refused(req, timeout):
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr(healthcheck.urllib.request, "urlopen", refused)
    assert healthcheck.main() == 1
    assert "unhealthy" in capsys.readouterr().err
