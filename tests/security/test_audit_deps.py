"""Issue 19: `make audit` (scripts/audit_deps.py) fails on a pinned dependency with a known,
fixable vulnerability, passes on one without a fix, and is skipped loudly without a service."""
import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_deps.py"


@pytest.fixture
def audit(monkeypatch):
    spec = importlib.util.spec_from_file_location("audit_deps", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_pip_audit(monkeypatch, vulns):
    report = {"dependencies": [{"name": "jinja2", "version": "2.4.1", "vulns": vulns},
                               {"name": "flask", "version": "3.1.3", "vulns": []}]}
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 1 if vulns else 0, stdout=json.dumps(report), stderr=""))


def test_a_fixable_vulnerability_fails(audit, monkeypatch, capsys):
    monkeypatch.setattr(audit, "reachable_service", lambda: "osv")
    fake_pip_audit(monkeypatch, [{"id": "GHSA-x", "fix_versions": ["2.11.3"]}])
    assert audit.main() == 1
    assert "VULNERABLE: jinja2 2.4.1: GHSA-x (fixed in 2.11.3)" in capsys.readouterr().err


def test_a_vulnerability_without_a_fix_is_shown_not_failed(audit, monkeypatch, capsys):
    monkeypatch.setattr(audit, "reachable_service", lambda: "osv")
    fake_pip_audit(monkeypatch, [{"id": "GHSA-y", "fix_versions": []}])
    assert audit.main() == 0
    assert "known, no fix yet: jinja2 2.4.1: GHSA-y" in capsys.readouterr().out


def test_without_a_service_it_is_skipped_loudly(audit, monkeypatch, capsys):
    monkeypatch.setattr(audit, "reachable_service", lambda: None)
    assert audit.main() == 0
    assert "pip-audit SKIPPED" in capsys.readouterr().err
    monkeypatch.setenv("MATCHMAKER_AUDIT_REQUIRED", "1")
    assert audit.main() == 1


def test_the_lock_pins_every_dependency():
    lines = [line for line in (SCRIPT.parents[1] / "requirements.lock").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines and all("==" in line for line in lines)
    names = {line.split("==")[0].lower().replace("_", "-") for line in lines}
    assert {"flask", "sqlalchemy", "zxcvbn", "openpyxl", "pip-audit"} <= names
