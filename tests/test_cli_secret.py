"""Command-line work that serves no web request runs without a secret key (a fresh clone can
migrate, import, match and export); the web app still refuses to start without one.

Run as subprocesses with a clean environment: no MATCHMAKER_* variable but the instance
folder (a temporary one, so a developer's instance/secret_key cannot hide the bug)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).parent / "matchmaker"
MESSAGE = "MATCHMAKER_SECRET_KEY is not set"


@pytest.fixture
def clean_env(tmp_path):
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
            "MATCHMAKER_INSTANCE_PATH": str(tmp_path / "instance")}


def run(args, env, timeout=120):
    return subprocess.run([str(CLI), *args], env=env, cwd=env["HOME"], capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_cli_without_a_secret_key(clean_env):
    for args in (["db", "upgrade"], ["import", str(ROOT / "tests/data/example.json"),
                                         "--consent-basis", "企业授权书"]):
        done = run(args, clean_env)
        assert done.returncode == 0, done.stderr[-2000:]
        assert MESSAGE not in done.stderr
    done = run(["match", "--need", "N-01", "--json"], clean_env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["matches"][0]["product_ref"] == "P-TECH-01"
    done = run(["export", "--sections", "products"], clean_env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(json.loads(done.stdout)["products"]) == 3
    assert not (Path(clean_env["MATCHMAKER_INSTANCE_PATH"]) / "secret_key").exists()


def test_the_web_app_still_refuses_to_start_without_one(clean_env):
    done = run(["run", "--port", "0"], clean_env, timeout=60)
    assert done.returncode != 0 and MESSAGE in done.stderr
    wsgi = subprocess.run([sys.executable, "-c", "import wsgi"], env=clean_env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert wsgi.returncode != 0 and MESSAGE in wsgi.stderr


def test_a_secret_key_in_the_environment_still_serves(clean_env):
    env = dict(clean_env, MATCHMAKER_SECRET_KEY="k" * 40)
    code = "from matchmaker import create_app; print(create_app().secret_key)"
    done = subprocess.run([sys.executable, "-c", code],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "k" * 40
