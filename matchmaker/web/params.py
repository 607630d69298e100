"""Path and query values checked before any view runs (issue 19): an id past PostgreSQL's
integer is no route (404), a query number that is not a plain number or is past that range is
a bad request (400) or nothing there (404), and a NUL character, which PostgreSQL refuses in
text, is a bad request wherever it comes. Views read what is left as they always did."""
from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL integer; every id column and page number fits in it

# query arguments read as numbers by some page (request.args.get(..., type=int), paginate,
# filter forms); a value here must be ASCII digits within MAX_ID. (The audit page explains a
# bad subject_id beside its field itself.)
NUMBER_ARGS = frozenset({"page", "per_page", "job", "year", "month", "days", "whitelist_id",
                         "enterprise_id", "need_id", "product_id",
                         "institution_id", "event_id", "lead_id", "user_id", "top"})


class IdConverter(IntegerConverter):
    """`<int:…>` everywhere: at most MAX_ID, so a larger id never reaches the database."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def register(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter  # before any blueprint adds its rules

    @app.before_request
    def check_values():
        for name, value in request.args.items(multi=True):
            if "\x00" in value or "\x00" in name:
                abort(400)
            if name in NUMBER_ARGS and value:
                if not (value.isascii() and value.isdigit()):
                    abort(400)
                if int(value) > MAX_ID:
                    abort(404)
        if any("\x00" in str(v) for v in (request.view_args or {}).values()):
            abort(400)
        if request.method == "POST" and any(
                "\x00" in k or "\x00" in v for k, v in request.form.items(multi=True)):
            abort(400)


def number_arg(name: str) -> int | None:
    """A query number for code that runs on every page, error pages included (a context
    processor): None when absent, malformed or out of range, never an exception."""
    value = request.args.get(name, "")
    if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID:
        return int(value)
    return None
