"""`python -m atelier.download [ids...] [--list] [--token T]`: fetch catalog models (`make models`).

    python -m atelier.download --list                      # the catalog, with what is downloaded
    python -m atelier.download sdxl-realism moondream-2    # fetch into the Hugging Face cache

Files land in the Hugging Face cache (HF_HOME, default ~/.cache/huggingface), where the server
loads them from. Only what the loaders need is fetched (safetensors, configs, tokenizers); an
interrupted download resumes when run again. Exit status: 0 all fetched, 1 a model failed,
2 bad arguments (unknown id).
"""

from __future__ import annotations

import argparse
import logging
import sys

from atelier.core.config import Settings
from atelier.core.errors import AtelierError
from atelier.engine.catalog import build_catalog
from atelier.gallery.downloads.service import Downloader, fmt_bytes


def _list(downloader: Downloader, settings: Settings) -> None:
    try:
        from atelier.engine.families import load_families

        families = load_families()
    except Exception:  # a family that cannot import must not hide the catalog
        families = {}
    print(f"{'id':<16} {'kind':<11} {'downloaded':<11} source")
    for spec in downloader.catalog.all():
        fam = families.get(spec.family)
        try:
            have = "yes" if fam is not None and fam.is_downloaded(spec) else ("no" if fam else "?")
        except Exception:
            have = "?"
        src = spec.source + (f"@{spec.revision}" if spec.revision else "")
        print(f"{spec.id:<16} {spec.kind:<11} {have:<11} {src}")
    print(f"\ncache: {downloader.cache_dir}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m atelier.download", description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="catalog ids or aliases (see --list)")
    ap.add_argument("--list", action="store_true", help="show the catalog and what is already downloaded")
    ap.add_argument("--token", help="Hugging Face token for gated/private repos (default: $HF_TOKEN)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    settings = Settings()
    downloader = Downloader(build_catalog(settings), token=args.token)
    if args.list or not args.models:
        _list(downloader, settings)
        if not args.models:
            print("\nusage: make models MODELS=\"sdxl-realism moondream-2\"  (or python -m atelier.download ID...)")
        return 0

    try:  # validate every id before fetching anything
        specs = [downloader.resolve(m) for m in args.models]
    except AtelierError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2

    failed = 0
    for spec in specs:
        try:
            plan = downloader.plan(spec)
            missing = plan.missing_bytes()
            approx = "~" if any(r.estimated for r in plan.repos) else ""
            print(f"{spec.id}: {approx}{fmt_bytes(plan.total_bytes)} in "
                  f"{sum(len(r.files) for r in plan.repos)} files from {', '.join(r.repo_id for r in plan.repos)}; "
                  f"{fmt_bytes(missing)} to fetch", flush=True)
            downloader.check_disk(plan)
            paths = downloader.fetch(plan)
            print(f"{spec.id}: done -> {paths[0]}", flush=True)
        except AtelierError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            failed += 1
        except KeyboardInterrupt:
            print(f"\n{spec.id}: interrupted; run the same command again to resume", file=sys.stderr)
            return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
