"""One effect per submitted form (issue 17 finding 8): a repeat shows the first result.

    form = NeedForm(...)                      # class NeedForm(SubmittedOnce, FlaskForm)
    if form.validate_on_submit():
        if (first := once.begin(form)) is not None:
            return first                      # a repeat: the first submission's page
        with attempt(form) as done:
            need = service.create_need(...)
            once.done(url_for(".need", need_id=need.id))
        ...

`begin` inserts the form's token (web.models.FormSubmission) inside the transaction that
`attempt` then commits or rolls back: the token is spent exactly when the effect happened. A
repeat posted after the first committed finds the row; one posted meanwhile blocks on the
primary key (PostgreSQL: until the first commits, then a unique violation; SQLite: on the write
lock, the token row being the transaction's first write) and then finds it. A form posted
without a token (an old page, a script) works as before, once per post.
"""
from __future__ import annotations

import logging
import random
import time

from flask import abort, flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from ..extensions import db
from .models import FormSubmission

log = logging.getLogger(__name__)

ATTEMPTS = 40
REPEATED = "该表单已提交过，以下是第一次提交的结果。"


def begin(form):
    """None when this is the form's first submission (its token now held by this
    transaction); else a redirect to what the first submission showed."""
    token = form.submitted_token() if hasattr(form, "submitted_token") else None
    if token is None:
        return None
    user_id = current_user.id if current_user.is_authenticated else None
    # already loaded in this session (a repeat in the same session): adding a second object
    # with its key would only warn and then fail; read no SQL here (see the SQLite note below)
    known = db.session.identity_map.get(db.session.identity_key(FormSubmission, token))
    if known is not None:
        return _first_result(known, user_id)
    for retry in range(ATTEMPTS):
        try:
            row = FormSubmission(token=token, user_id=user_id,
                                 endpoint=(request.endpoint or "")[:100])
            with db.session.begin_nested():   # a unique violation undoes only this
                db.session.add(row)
            g.form_submission = row
            return None
        except IntegrityError:
            # spent: committed by an earlier post, or by a concurrent one we waited for
            first = db.session.scalar(select(FormSubmission)
                                      .where(FormSubmission.token == token))
            if first is not None:
                return _first_result(first, user_id)
        except OperationalError as err:
            # SQLite: this transaction read before another committed; start a new one whose
            # first statement is the token's INSERT (it waits for the write lock, then sees
            # the latest data). PostgreSQL never gets here.
            db.session.rollback()
            if "locked" not in str(err) or retry == ATTEMPTS - 1:
                raise
            log.info("form token on %s: database busy, retry %s", request.endpoint, retry + 1)
            time.sleep(random.uniform(0.005, 0.02))
    abort(409)


def done(url: str) -> None:
    """Where a repeat of this submission is sent (the page the first one redirected to);
    call it inside the `attempt` block, after the service call."""
    row = g.get("form_submission")
    if row is not None:
        row.result_url = url


def _first_result(first: FormSubmission, user_id: int | None):
    if first.user_id != user_id:
        abort(409)                 # a token is one browser's: never show another's result
    flash(REPEATED, "info")
    return redirect(first.result_url or request.referrer or url_for("web.home"))
