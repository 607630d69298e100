"""Issue 19, route parameters: every route of the URL map, as each role, with ids past
PostgreSQL's integer (2³¹, 10²⁰), and every query value the pages read set to a 20-digit
number or to garbage: 404 or 400 (or the page, ignoring it), never a 500. Runs on SQLite and on
PostgreSQL, where 2³¹ was "integer out of range" before issue 19."""
import re
from urllib.parse import urlencode

import pytest

from tests.conftest import ROLES

# the query values pages read (request.args and the GET filter forms)
QUERY = ("page", "per_page", "job", "status", "q", "year", "month", "days", "whitelist_id",
         "enterprise_id", "need_id", "product_id", "institution_id", "subject_id",
         "subject_type", "actor", "action", "date_from", "date_to", "kind", "group", "code",
         "next", "sort", "district", "purpose", "loan_kind", "guarantee_mode",
         "institution_kind", "tag", "amount", "term", "stage", "industry", "size", "period",
         "scope", "batch", "mine", "overdue")
WORDS = {"token": "no-such-token", "code": "high_tech", "key": "guarantee_fee_rate",
         "day": "2026-10-01", "fmt": "svg"}
HUGE = (str(2**31), str(10**20))
BAD = ("9" * 20, "-1", "²", "0x1f", "1e9", "x'\"<>\x00", "2026-13-45", "%ff")


def _rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def _url(rule, number: str) -> str:
    def value(match):
        name = match.group(1).split(":")[-1]
        return WORDS.get(name, number)
    return re.sub(r"<([^>]+)>", value, rule.rule)


def _has_id(rule) -> bool:
    return any(type(c).__name__ == "IntegerConverter" or "Int" in type(c).__name__
               for c in rule._converters.values())


@pytest.mark.parametrize("role", ROLES)
def test_out_of_range_ids_are_404_on_every_route(app, db, client_as, role):
    client = client_as(role)
    db.session.commit()  # a view's rollback must not take the user away
    failures = []
    for rule in _rules(app):
        if not _has_id(rule):
            continue
        for number in HUGE:
            for method in sorted(rule.methods & {"GET", "POST"}):
                url = _url(rule, number)
                status = client.open(url, method=method).status_code
                if status >= 500:
                    failures.append(f"{method} {url} as {role}: {status}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("value", ["9" * 20, "²"])
def test_the_audit_page_explains_a_bad_subject_id(client_as, value):
    html = client_as("admin").get(f"/admin/audit/?subject_id={value}").get_data(as_text=True)
    assert "对象编号应为数字" in html


@pytest.mark.parametrize("role", ROLES)
def test_malformed_query_values_never_500(app, db, client_as, role):
    client = client_as(role)
    db.session.commit()
    failures = []
    for rule in _rules(app):
        if "GET" not in rule.methods:
            continue
        url = _url(rule, "1")
        for bad in BAD:
            full = f"{url}?{urlencode({name: bad for name in QUERY})}"
            status = client.get(full).status_code
            if status >= 500:
                failures.append(f"GET {full[:120]} as {role}: {status}")
    assert not failures, "\n".join(failures)
