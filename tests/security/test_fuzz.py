"""Issue 19: hypothesis over every route's path and query values and every form's fields,
logged in as each role: no answer may be a 500. Bounded (about a minute on the 2-core box):
FUZZ_EXAMPLES sets how many requests (default 600), FUZZ_RANDOM=1 draws new ones instead of
the same derandomized sequence each run."""
import inspect
import io
import os
import re

import pytest
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms.fields.core import UnboundField

from tests.conftest import ROLES

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "600"))
# these end the client's session: the rest of the run would be anonymous
SKIP = {"static", "accounts.logout", "accounts.change_password", "accounts.close_account"}
QUERY = ("page", "job", "status", "q", "year", "days", "whitelist_id", "enterprise_id", "kind",
         "group", "code", "next", "sort", "district", "purpose", "amount", "term", "tag",
         "subject_id", "date_from", "date_to", "period", "scope")
WORDS = {"token": "no-such-token", "code": "high_tech", "key": "guarantee_fee_rate",
         "day": "2026-10-01", "fmt": "svg", "filename": "x"}

ids = st.one_of(st.integers(1, 40), st.sampled_from([0, 2**31 - 1, 2**31, 10**20]))
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "0", "-1", "1e400", "NaN", "9" * 20, "2026-02-30", "²",
                     "<script>", "' OR 1=1 --", "\r\n", "%00", "永川区", "working_capital",
                     "是", "on", "y", "2026-10-01", "12:00", "100.5", "-0.0", "１２"]),
    st.integers(-10**12, 10**21).map(str),
)


def _forms() -> dict[str, type]:
    found, todo = {}, [FlaskForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            found[sub.__name__] = sub
            todo.append(sub)
    return found


def _fields(form) -> dict[str, str]:
    """name -> kind for a form class's fields (FieldList/FormField names as posted: -0)."""
    out = {}
    for name in dir(form):
        value = getattr(form, name, None)
        if isinstance(value, UnboundField):
            kind = value.field_class.__name__
            out[f"{name}-0" if kind in ("FieldList", "FormField") else name] = kind
    return out


def _targets(app):
    forms = _forms()
    targets = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP:
            continue
        view = app.view_functions[rule.endpoint]
        try:
            source = inspect.getsource(inspect.unwrap(view))
        except (OSError, TypeError):
            source = ""
        fields = {}
        for name in set(re.findall(r"\b([A-Z]\w*Form)\b", source)) & set(forms):
            fields.update(_fields(forms[name]))
        for method in sorted(rule.methods & {"GET", "POST"}):
            targets.append((rule, method, fields))
    return targets


def _url(rule, draw_id) -> str:
    def value(match):
        converter, _, name = match.group(1).rpartition(":")
        return str(draw_id()) if converter.startswith("int") else WORDS.get(name, "x")
    return re.sub(r"<([^>]+)>", value, rule.rule)


@pytest.fixture
def clients(app, db, client_as):
    made = {role: client_as(role) for role in ROLES}
    db.session.commit()  # a view's rollback must not take the users away
    return made


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          derandomize=not os.environ.get("FUZZ_RANDOM"),
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_no_input_makes_a_500(app, clients, data):
    if "_FUZZ_TARGETS" not in app.config:  # not setdefault: its argument is built every call
        app.config["_FUZZ_TARGETS"] = _targets(app)
    targets = app.config["_FUZZ_TARGETS"]
    role = data.draw(st.sampled_from(ROLES), label="role")
    rule, method, fields = data.draw(st.sampled_from(targets), label="route")
    url = _url(rule, lambda: data.draw(ids, label="id"))
    query = data.draw(st.dictionaries(st.sampled_from(QUERY), texts, max_size=4), label="query")
    body = {}
    if method == "POST" and fields:
        chosen = data.draw(st.lists(st.sampled_from(sorted(fields)), max_size=len(fields),
                                    unique=True), label="fields")
        for name in chosen:
            if fields[name] in ("FileField", "MultipleFileField"):
                body[name] = (io.BytesIO(data.draw(st.binary(max_size=64))), "x.xlsx")
            else:
                body[name] = data.draw(texts, label=name)
    response = clients[role].open(url, method=method, query_string=query, data=body,
                                  content_type="multipart/form-data" if body else None)
    assert response.status_code < 500, f"{method} {url} {query} {body} as {role}"
