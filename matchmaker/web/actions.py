"""One unit of work per request: the view's service call commits, or is undone and explained.

    with attempt(form, "title") as done:
        event = service.create_event(current_user, **form.values())
    if not done:
        return render_template("events/form.html", form=form), 400
    flash("活动已创建。", "success")
    return redirect(url_for(".show", event_id=event.id))

On a ServiceError (a business rule refused the change, with a Chinese message) the whole
transaction is rolled back (the service may have flushed part of its work), the message is
put beside the field it names (`err.field`, else the `field` given here) when the form has it,
else flashed, and the block ends early. Anything else propagates: the request fails and the
session is rolled back when the app context ends. Without an error the work is committed.

A refusal the page shows in its own way (the conflicts of a meeting move, the rows an import
rejected) is named in `shown`: it is rolled back and kept in `done.error`, not explained:

    with attempt(shown=ImportRejected) as done:
        report = service.import_for(current_user, doc)
    if not done:
        return _preview(ImportReport(problems=done.error.problems)), 400
"""
from __future__ import annotations

from typing import Self

from flask import flash

from ..errors import ServiceError
from ..extensions import db


class attempt:  # lower case: it reads as a verb in the `with` line
    def __init__(self, form=None, field: str | None = None, *, category: str = "danger",
                 shown: type[Exception] | tuple[type[Exception], ...] = ()):
        self.form, self.field, self.category, self.shown = form, field, category, shown
        self.error: Exception | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, _tb) -> bool:
        if exc_type is None:
            db.session.commit()
            return False
        shown = issubclass(exc_type, self.shown)
        if not (shown or issubclass(exc_type, ServiceError)):
            return False
        db.session.rollback()
        self.error = exc
        if not shown:
            self._explain(exc)
        return True  # the refusal is handled: the view renders or redirects

    def __bool__(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str | None:
        if self.error is None:
            return None
        return getattr(self.error, "message", None) or str(self.error)

    def _explain(self, err: ServiceError) -> None:
        name = err.field if err.field and self.form is not None and err.field in self.form \
            else self.field
        if name and self.form is not None and name in self.form:
            field = self.form[name]
            field.errors = list(field.errors) + [err.message]
        else:
            flash(err.message, self.category)
