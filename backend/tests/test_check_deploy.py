"""scripts/check_deploy.py: the checker behind `make test-deploy` catches what it promises to."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from atelier.core.config import REPO_ROOT

spec = importlib.util.spec_from_file_location("check_deploy", REPO_ROOT / "scripts" / "check_deploy.py")
check_deploy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_deploy)  # type: ignore[union-attr]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.ts").write_text("")
    (tmp_path / "tsconfig.json").write_text("{}")
    (tmp_path / "tsconfig.app.json").write_text("{}")
    (tmp_path / "backend" / "atelier").mkdir(parents=True)
    (tmp_path / "backend" / "atelier" / "healthcheck.py").write_text("")
    (tmp_path / "backend" / "atelier" / "__main__.py").write_text("")
    (tmp_path / ".env.example").write_text("")
    (tmp_path / ".dockerignore").write_text("node_modules\n**/__pycache__\ntests\n!tests/keep\n")
    return tmp_path


def write_dockerfile(repo: Path, body: str) -> Path:
    f = repo / "Dockerfile"
    f.write_text(body)
    return f


def test_dockerfile_with_existing_sources_passes(repo):
    f = write_dockerfile(repo, "FROM x AS ui\nCOPY tsconfig*.json ./\nCOPY src \\\n   ./src\n"
                               "FROM y\nCOPY --from=ui /src/dist /app/dist\nCOPY [\"backend/atelier\", \"/app/\"]\n"
                               "HEALTHCHECK CMD [\"python\", \"-m\", \"atelier.healthcheck\"]\nCMD python -m atelier\n")
    assert check_deploy.check_dockerfile(repo, f) == []


def test_dockerfile_copy_of_a_missing_path_is_reported_with_its_line(repo):
    f = write_dockerfile(repo, "FROM x\n# a comment\nCOPY public ./public\nCOPY src ./src\n")
    problems = check_deploy.check_dockerfile(repo, f)
    assert problems == ["Dockerfile:3: COPY source 'public' does not exist in the repository"]


def test_dockerfile_copy_of_a_dockerignored_path_is_reported(repo):
    (repo / "tests" / "e2e").mkdir(parents=True)
    (repo / "tests" / "keep").mkdir(parents=True)
    f = write_dockerfile(repo, "FROM x\nCOPY tests/e2e ./e2e\nCOPY tests/keep ./keep\n")
    assert check_deploy.check_dockerfile(repo, f) == ["Dockerfile:2: COPY source 'tests/e2e' is excluded by .dockerignore"]


def test_a_python_module_that_does_not_exist_is_reported(repo):
    f = write_dockerfile(repo, "FROM x\nHEALTHCHECK CMD python -m atelier.health\n")
    assert "atelier/health.py does not exist" in check_deploy.check_dockerfile(repo, f)[0]


def compose(repo: Path, **overrides) -> dict:
    svc = {
        "build": {"context": str(repo), "dockerfile": "Dockerfile"},
        "env_file": [{"path": str(repo / ".env"), "required": False}],
        "environment": {"ATELIER_HOST": "0.0.0.0", "ATELIER_MODELS_DIR": "/models", "ATELIER_DATA_DIR": "/data",
                        "HF_HOME": "/hf"},
        "volumes": [{"type": "volume", "source": s, "target": t} for s, t in
                    (("models", "/models"), ("data", "/data"), ("hf", "/hf"))],
        "deploy": {"resources": {"reservations": {"devices": [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]}}},
        "healthcheck": {"test": ["CMD", "python", "-m", "atelier.healthcheck"]},
        "restart": "unless-stopped",
    }
    svc.update(overrides)
    write_dockerfile(repo, "FROM x\nCOPY src ./src\n")
    return {"services": {"atelier": svc}}


def test_a_complete_compose_file_passes(repo):
    assert check_deploy.check_compose(repo, compose(repo)) == []


def test_compose_without_gpu_healthcheck_or_restart_is_reported(repo):
    problems = check_deploy.check_compose(repo, compose(repo, deploy={}, healthcheck={}, restart="no"))
    assert any("no NVIDIA GPU reservation" in p for p in problems)
    assert any("no healthcheck" in p for p in problems)
    assert any("no restart policy" in p for p in problems)


def test_compose_state_folder_off_a_volume_is_reported(repo):
    cfg = compose(repo)
    cfg["services"]["atelier"]["environment"]["HF_HOME"] = "/cache"
    assert check_deploy.check_compose(repo, cfg) == [
        "docker-compose.yml: services.atelier: HF_HOME=/cache is not on a volume: its contents would be lost on upgrade"]


def test_compose_missing_bind_source_and_required_env_file_are_reported(repo):
    cfg = compose(repo, env_file=[str(repo / "prod.env")],
                  volumes=[{"type": "bind", "source": str(repo / "nope"), "target": "/models"}])
    problems = check_deploy.check_compose(repo, cfg)
    assert any("env_file prod.env is required but does not exist" in p for p in problems)
    assert any("bind source" in p and "nope" in p for p in problems)


def test_main_exits_1_and_lists_problems(repo, tmp_path, capsys):
    cfg = compose(repo, restart=None)
    out = tmp_path / "c.json"
    out.write_text(json.dumps(cfg))
    assert check_deploy.main(["--compose-json", str(out), "--root", str(repo)]) == 1
    assert "no restart policy" in capsys.readouterr().err
