"""`python -m atelier.healthcheck`: exit 0 when the server answers GET /v1/status (Docker HEALTHCHECK).

Reads the same settings as the server (port, API key), so it keeps working when ATELIER_API_KEY
is set, and always asks the loopback address, whatever ATELIER_HOST is.
"""

from __future__ import annotations

import sys
import urllib.request

from atelier.core.config import Settings


def main() -> int:
    settings = Settings()
    req = urllib.request.Request(f"http://127.0.0.1:{settings.port}/v1/status")
    if settings.api_key:
        req.add_header("Authorization", f"Bearer {settings.api_key}")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 (fixed loopback URL)
            ok = resp.status == 200
    except Exception as exc:  # connection refused, timeout, 401, 5xx: all mean unhealthy
        print(f"unhealthy: GET /v1/status: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
