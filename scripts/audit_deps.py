"""`make audit`: pip-audit over requirements.lock; fails on a known vulnerability that has a fixed
version (one without a fix is printed, not failed: there is nothing to upgrade to).

pip-audit has no offline mode: it asks a vulnerability service (OSV, or PyPI's JSON API) about
each pinned version, and there is no local database it can read (pypa/pip-audit#698). So the
audit runs when a service answers; when none does (an offline machine, this workplace's CI),
it says so loudly and passes — MATCHMAKER_AUDIT_REQUIRED=1 makes that a failure instead.
"""
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
SERVICES = (("osv", "https://api.osv.dev/v1/query", (b'{"package": {"name": "jinja2", '
                                                    b'"ecosystem": "PyPI"}, "version": "2.4.1"}')),
            ("pypi", "https://pypi.org/pypi/jinja2/2.4.1/json", None))


def reachable_service() -> str | None:
    """The first service that answers about a version with known vulnerabilities."""
    for name, url, body in SERVICES:
        try:
            with urllib.request.urlopen(url, data=body, timeout=10) as response:
                doc = json.load(response)
        except (OSError, ValueError):
            continue
        if doc.get("vulns") or doc.get("vulnerabilities"):  # a mirror without the data is no use
            return name
    return None


def main() -> int:
    service = reachable_service()
    if service is None:
        print("!!! pip-audit SKIPPED: no vulnerability service (OSV, PyPI JSON API) answers from "
              "here, and pip-audit cannot run offline", file=sys.stderr)
        return 1 if os.environ.get("MATCHMAKER_AUDIT_REQUIRED") == "1" else 0
    out = subprocess.run(
        [sys.executable, "-m", "pip_audit", "-r", str(LOCK), "--no-deps", "--disable-pip",
         "-s", service, "--format", "json", "--progress-spinner", "off"],
        check=False, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        print(out.stderr, file=sys.stderr)
        return out.returncode
    report = json.loads(out.stdout)
    fixable = []
    for dep in report.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            line = f"{dep['name']} {dep['version']}: {vuln['id']}"
            if vuln.get("fix_versions"):
                fixable.append(f"{line} (fixed in {', '.join(vuln['fix_versions'])})")
            else:
                print(f"known, no fix yet: {line}")
    for line in fixable:
        print(f"VULNERABLE: {line}", file=sys.stderr)
    print(f"pip-audit ({service}): {len(report.get('dependencies', []))} pinned packages, "
          f"{len(fixable)} with a fixable vulnerability")
    return 1 if fixable else 0


if __name__ == "__main__":
    sys.exit(main())
