"""Checks that the Dockerfile and docker-compose.yml name only things that exist (`make test-deploy`).

    python scripts/check_deploy.py --compose-json rendered.json

`rendered.json` is `docker compose config --format json` (paths resolved, variables interpolated).
Prints one line per problem and exits 1 if there is any. Checks:
- every COPY/ADD source of the Dockerfile exists in the build context and is not .dockerignored;
- every `python -m <module>` the Dockerfile or the compose healthcheck runs is in backend/;
- the compose build context, Dockerfile, env files and bind-mount sources exist;
- the `atelier` service reserves an NVIDIA GPU, has a healthcheck and a restart policy, and every
  folder it keeps state in (models, Hugging Face cache, data) is on a volume.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE_DIRS = ("ATELIER_MODELS_DIR", "ATELIER_DATA_DIR", "HF_HOME")


# ---------------------------------------------------------------------------- Dockerfile
def dockerfile_instructions(text: str) -> list[tuple[int, str, str]]:
    """(line number, INSTRUCTION, arguments) with continuations joined and comments dropped."""
    out: list[tuple[int, str, str]] = []
    buf, start = "", 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue  # comment lines inside a continued instruction
        if not buf:
            start = no
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, args = buf.partition(" ")
        out.append((start, word.upper(), args.strip()))
        buf = ""
    return out


def copy_sources(args: str) -> list[str] | None:
    """Context sources of a COPY/ADD, or None when it copies from another stage (`--from=`)."""
    if args.startswith("["):
        parts = json.loads(args)
    else:
        parts = shlex.split(args)
    flags = [p for p in parts if p.startswith("--")]
    if any(f.startswith("--from=") for f in flags):
        return None
    rest = [p for p in parts if not p.startswith("--")]
    return rest[:-1]


def dockerignore_patterns(root: Path) -> list[tuple[bool, str]]:
    f = root / ".dockerignore"
    if not f.exists():
        return []
    pats = []
    for line in f.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        pat = line[1:] if neg else line
        pats.append((neg, pat.strip("/")))
    return pats


def _match(pattern: str, path: str) -> bool:
    # Docker matches a pattern against the path and, by prefix, everything under a matched folder.
    # `**` matches any number of folders (including none).
    regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*")
    regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
    return re.fullmatch(regex + "(?:/.*)?", path) is not None


def is_dockerignored(path: str, patterns: list[tuple[bool, str]]) -> bool:
    ignored = False
    for neg, pat in patterns:  # the last matching pattern wins
        if _match(pat, path):
            ignored = not neg
    return ignored


def check_dockerfile(root: Path, dockerfile: Path) -> list[str]:
    problems: list[str] = []
    if not dockerfile.exists():
        return [f"{dockerfile.name}: not found"]
    ignore = dockerignore_patterns(root)
    for no, instr, args in dockerfile_instructions(dockerfile.read_text()):
        where = f"{dockerfile.name}:{no}"
        if instr in ("COPY", "ADD"):
            sources = copy_sources(args)
            for src in sources or []:
                if "://" in src or "$" in src:
                    continue  # URLs and build args: nothing to check in the repo
                rel = src[2:] if src.startswith("./") else src.lstrip("/")
                rel = rel.rstrip("/") or "."
                matches = sorted(root.glob(rel)) if rel != "." else [root]
                if not matches:
                    problems.append(f"{where}: {instr} source {src!r} does not exist in the repository")
                    continue
                for m in matches:
                    r = m.relative_to(root).as_posix()
                    if r != "." and is_dockerignored(r, ignore):
                        problems.append(f"{where}: {instr} source {r!r} is excluded by .dockerignore")
        if instr in ("CMD", "ENTRYPOINT", "HEALTHCHECK", "RUN"):
            problems += [f"{where}: {p}" for p in check_python_modules(root, args)]
    return problems


# ---------------------------------------------------------------------------- python -m targets
def check_python_modules(root: Path, command: str | list[str]) -> list[str]:
    text = command if isinstance(command, str) else " ".join(command)
    problems = []
    for mod in re.findall(r"""-m["',\s]+([A-Za-z_][\w.]*)""", text):
        if not mod.startswith("atelier"):
            continue  # pip, venv and friends
        base = root / "backend" / Path(*mod.split("."))
        if not (base.with_suffix(".py").exists() or (base / "__main__.py").exists()):
            problems.append(f"runs `python -m {mod}` but backend/{mod.replace('.', '/')}.py does not exist")
    return problems


# ---------------------------------------------------------------------------- compose
def _inside(root: Path, p: Path) -> bool:
    try:
        p.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def check_compose(root: Path, cfg: dict) -> list[str]:
    problems: list[str] = []
    services = cfg.get("services") or {}
    if "atelier" not in services:
        return ["docker-compose.yml: no `atelier` service"]
    for name, svc in services.items():
        where = f"docker-compose.yml: services.{name}"
        build = svc.get("build")
        if build:
            ctx = Path(build.get("context", "."))
            ctx = ctx if ctx.is_absolute() else root / ctx
            if not ctx.is_dir() or not _inside(root, ctx):
                problems.append(f"{where}.build.context {ctx} is not a folder of the repository")
            df = ctx / build.get("dockerfile", "Dockerfile")
            if not df.is_file():
                problems.append(f"{where}.build.dockerfile {df} does not exist")
            else:
                problems += check_dockerfile(ctx, df)
        for ef in svc.get("env_file") or []:
            path = Path(ef["path"] if isinstance(ef, dict) else ef)
            path = path if path.is_absolute() else root / path
            required = ef.get("required", True) if isinstance(ef, dict) else True
            if required and not path.exists():
                problems.append(f"{where}.env_file {path.name} is required but does not exist")
            if path.name == ".env" and not (path.parent / ".env.example").exists():
                problems.append(f"{where}.env_file .env has no .env.example to copy it from")
        for vol in svc.get("volumes") or []:
            if vol.get("type") == "bind" and not Path(vol["source"]).exists():
                problems.append(f"{where}.volumes: bind source {vol['source']} does not exist")
        hc = (svc.get("healthcheck") or {}).get("test")
        if hc:
            problems += [f"{where}.healthcheck: {p}" for p in check_python_modules(root, hc)]

    svc = services["atelier"]
    where = "docker-compose.yml: services.atelier"
    devices = (((svc.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices") or []
    if not any(d.get("driver") == "nvidia" and "gpu" in (d.get("capabilities") or []) for d in devices):
        problems.append(f"{where}: no NVIDIA GPU reservation (deploy.resources.reservations.devices)")
    hc = svc.get("healthcheck") or {}
    if not hc.get("test") or hc.get("disable"):
        problems.append(f"{where}: no healthcheck")
    if svc.get("restart") in (None, "no"):
        problems.append(f"{where}: no restart policy")
    env = svc.get("environment") or {}
    targets = {v.get("target") for v in svc.get("volumes") or []}
    for var in STATE_DIRS:
        if env.get(var) and env[var] not in targets:
            problems.append(f"{where}: {var}={env[var]} is not on a volume: its contents would be lost on upgrade")
        if not env.get(var):
            problems.append(f"{where}: environment does not set {var} (where the state lives in the container)")
    if env.get("ATELIER_HOST") != "0.0.0.0":
        problems.append(f"{where}: ATELIER_HOST must be 0.0.0.0 inside the container, or published ports never answer")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compose-json", type=Path, required=True, help="output of `docker compose config --format json`")
    ap.add_argument("--root", type=Path, default=ROOT)
    args = ap.parse_args(argv)
    cfg = json.loads(args.compose_json.read_text())
    problems = check_compose(args.root, cfg)
    if not (args.root / "Dockerfile").exists():
        problems.append("Dockerfile: not found")
    for p in problems:
        print(f"  - {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
