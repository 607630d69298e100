"""One clock: nothing in matchmaker reads the server's local date or defines the time zone
again (on a UTC server `date.today()` is yesterday between 00:00 and 08:00 Beijing time)."""
import ast
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from matchmaker import clock

PACKAGE = Path(__file__).resolve().parents[1] / "matchmaker"


def _datetime_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """The names this module binds to the date/datetime classes and to the datetime module
    (`from datetime import date as d`, `import datetime as dt`)."""
    classes, modules = {"date", "datetime"}, {"datetime"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "datetime":
            classes |= {a.asname or a.name for a in node.names if a.name in ("date", "datetime")}
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "datetime"}
    return classes, modules


def _offences(tree: ast.AST) -> list[str]:
    classes, modules = _datetime_names(tree)

    def is_clock_class(node: ast.AST) -> bool:   # date, datetime, dt.date, datetime.datetime
        return (isinstance(node, ast.Name) and node.id in classes) or (
            isinstance(node, ast.Attribute) and node.attr in ("date", "datetime")
            and isinstance(node.value, ast.Name) and node.value.id in modules)

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_clock_class(node.value):
            if node.attr == "today":                # called or passed on: date.today, f = ...
                found.append("date.today")
            elif node.attr == "utcnow":             # naive, deprecated since Python 3.12
                found.append("datetime.utcnow")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                is_clock_class(node.func.value) and not node.keywords:
            if node.func.attr == "now" and not node.args:
                found.append("datetime.now() without a time zone")
            elif node.func.attr == "fromtimestamp" and len(node.args) < 2:
                found.append("fromtimestamp() without a time zone")
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


@pytest.mark.parametrize("source, offence", [
    ("from datetime import date\nx = date.today()\n", "date.today"),
    ("from datetime import date\nf = date.today\n", "date.today"),
    ("from datetime import datetime\nx = datetime.today()\n", "date.today"),
    ("from datetime import date as d\nx = d.today()\n", "date.today"),
    ("import datetime\nx = datetime.date.today()\n", "date.today"),
    ("import datetime as dt\nx = dt.date.today()\n", "date.today"),
    ("from datetime import datetime\nx = datetime.now()\n", "datetime.now() without a time zone"),
    ("import datetime\nx = datetime.datetime.now()\n", "datetime.now() without a time zone"),
    ("from datetime import datetime as dt\nx = dt.now()\n",
     "datetime.now() without a time zone"),
    ("from datetime import datetime\nx = datetime.utcnow()\n", "datetime.utcnow"),
    ("from datetime import datetime\nx = datetime.fromtimestamp(0)\n",
     "fromtimestamp() without a time zone"),
    ("from zoneinfo import ZoneInfo\nTZ = ZoneInfo('Asia/Shanghai')\n",
     "ZoneInfo(...) (use clock.CHINA)"),
])
def test_the_scan_would_catch_one(source, offence):
    assert _offences(ast.parse(source)) == [offence]


@pytest.mark.parametrize("source", [
    "from datetime import UTC, datetime\nx = datetime.now(UTC)\n",
    "from datetime import UTC, datetime\nx = datetime.now(tz=UTC)\n",
    "from datetime import UTC, datetime\nx = datetime.fromtimestamp(0, UTC)\n",
    "from matchmaker import clock\nx = clock.now()\ny = clock.china_today()\n",
])
def test_the_scan_lets_the_aware_forms_pass(source):
    assert _offences(ast.parse(source)) == []


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
