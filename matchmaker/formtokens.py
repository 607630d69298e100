"""A token per form render (issue 17 finding 8: ten posts of one needs form made eight needs).

A form that must have one effect however often it is posted (a double click, a resend, a
flaky phone network) mixes in `SubmittedOnce`: `form.hidden_tag()` then carries a fresh
random token each time the page is rendered, and the view claims it with
`matchmaker.web.once.begin(form)` before its service call. Pure WTForms: domain forms may
import it.
"""
from __future__ import annotations

import re
import secrets
from contextlib import contextmanager
from contextvars import ContextVar

from wtforms import HiddenField

TOKEN = re.compile(r"[0-9a-f]{32}")

# the tokens issued while a page is rendered, when someone listens (the page cache: a stored
# page gets fresh tokens each time it is served, web/pagecache.py)
_issued: ContextVar[list[str] | None] = ContextVar("issued_form_tokens", default=None)


def new_token() -> str:
    token = secrets.token_hex(16)
    if (issued := _issued.get()) is not None:
        issued.append(token)
    return token


@contextmanager
def issued_tokens():
    """The list of every token new_token() gives inside the block."""
    issued: list[str] = []
    reset = _issued.set(issued)
    try:
        yield issued
    finally:
        _issued.reset(reset)


class SubmittedOnce:
    """Mix into a FlaskForm (before FlaskForm) whose submission must take effect once."""

    form_token = HiddenField(default=new_token)

    def submitted_token(self) -> str | None:
        """The token posted with the form, when it has the shape new_token() gives."""
        value = (self.form_token.data or "").strip()
        return value if TOKEN.fullmatch(value) else None
