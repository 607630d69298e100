"""`python -m matchmaker.secret`: write instance/secret_key once (kept on later runs)."""
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    path = Path(os.environ.get("MATCHMAKER_INSTANCE_PATH") or ROOT / "instance") / "secret_key"
    if path.exists():
        print(f"{path} exists; kept")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secrets.token_urlsafe(48))
    path.chmod(0o600)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
