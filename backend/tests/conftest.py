import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import atelier  # noqa: E402,F401 - before anything imports torchvision (atelier/core/torchvision_compat.py)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# Starlette's TestClient sends `Host: testserver`: the test settings allow that name, as a
# deployment allows its own (ATELIER_ALLOWED_HOSTS).
TESTCLIENT_HOST = "testserver"


# --- tiny models and a served app, shared by the vision, chat and analysis tests -------------
import base64  # noqa: E402
import io  # noqa: E402


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory):
    """Every tiny model built once per session, through the builders the app itself uses."""
    from atelier.engine.tiny import ensure_tiny_models

    root = tmp_path_factory.mktemp("models")
    ensure_tiny_models(root)
    return root


@pytest.fixture(scope="session")
def tiny_settings(tiny_models_dir, tmp_path_factory):
    from atelier.core.config import Settings

    return Settings(models="tiny", models_dir=tiny_models_dir, data_dir=tmp_path_factory.mktemp("data"),
                    ui_dir=tmp_path_factory.mktemp("ui"), model_ttl=0, api_key=None,
                    allowed_hosts=[TESTCLIENT_HOST])


@pytest.fixture(scope="module")
def client(tiny_settings):
    """A TestClient on the tiny-model app (lifespan run: worker started, models on demand)."""
    from fastapi.testclient import TestClient

    from atelier.main import create_app

    with TestClient(create_app(tiny_settings)) as c:
        yield c


@pytest.fixture(scope="session")
def live_server(tiny_settings):
    """The app served by a real uvicorn on a free loopback port: for the official clients."""
    from servers import serve

    from atelier.main import create_app

    app = create_app(tiny_settings)
    with serve(app) as url:
        yield {"url": url, "app": app}


def png_data_url(size=(48, 40), color=(200, 60, 30)) -> str:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, color)
    ImageDraw.Draw(img).rectangle((4, 4, size[0] // 2, size[1] // 2), fill=(20, 120, 220))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def image_url():
    return png_data_url()


@pytest.fixture(scope="session")
def exiftool_warnings():
    """`exiftool -validate -warning -a` on a file: its warnings (none for a file other tools accept).
    `make test` installs exiftool (Debian libimage-exiftool-perl) and sets REQUIRE_EXIFTOOL=1, so
    there a missing exiftool fails instead of skipping."""
    import shutil
    import subprocess

    exe = shutil.which("exiftool")
    if exe is None:
        if os.environ.get("REQUIRE_EXIFTOOL"):
            pytest.fail("exiftool is not installed: apt-get install libimage-exiftool-perl (make test does)")
        pytest.skip("exiftool is not installed (make test installs it)")

    def run(path) -> list[str]:
        out = subprocess.run([exe, "-validate", "-warning", "-a", "-s", str(path)], capture_output=True, text=True,
                             timeout=60, check=True).stdout
        assert "Validate" in out, out
        return [line for line in out.splitlines() if line.startswith("Warning")]

    return run
