"""One clock: nothing in matchmaker reads the server's local date or defines the time zone
again (on a UTC server `date.today()` is yesterday between 00:00 and 08:00 Beijing time)."""
import ast
from datetime import UTC, date, datetime
from pathlib import Path

from matchmaker import clock

PACKAGE = Path(__file__).resolve().parents[1] / "matchmaker"


def _offences(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "today" and \
                isinstance(node.value, ast.Name) and node.value.id in ("date", "datetime"):
            found.append(f"{node.value.id}.today")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("now", "utcnow") and isinstance(node.func.value, ast.Name) \
                and node.func.value.id == "datetime" and not node.args and not node.keywords:
            found.append("datetime.now() without a time zone")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "ZoneInfo":
            found.append("ZoneInfo(...) (use clock.CHINA)")
    return found


def test_no_server_local_date_outside_the_clock():
    offences = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "clock.py" and path.parent == PACKAGE:
            continue
        found = _offences(ast.parse(path.read_text(), str(path)))
        if found:
            offences[str(path.relative_to(PACKAGE.parent))] = found
    assert offences == {}


def test_the_scan_would_catch_one():
    assert _offences(ast.parse("from datetime import date\nx = date.today()\n")) == \
        ["date.today"]
    assert _offences(ast.parse("f = date.today\n")) == ["date.today"]


def test_china_today_is_the_beijing_date(monkeypatch):
    # 30 Nov 2026 20:30 UTC is already 1 Dec in Beijing
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 11, 30, 20, 30, tzinfo=UTC))
    assert clock.china_today() == date(2026, 12, 1)
    assert clock.china_midnight(date(2026, 12, 1)).astimezone(UTC) == \
        datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def test_column_defaults_follow_the_platform_clock(db, monkeypatch):
    from tests.factories import EnterpriseFactory

    moment = datetime(2026, 11, 30, 20, 30, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    enterprise = EnterpriseFactory()
    db.session.flush()
    assert enterprise.created_at == moment
