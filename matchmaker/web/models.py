from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..types import utcnow


class FormSubmission(db.Model):
    """A form token already used (matchmaker/formtokens.py): inserted in the transaction of the
    form's effect, so it exists exactly when the effect was committed. The primary key makes a
    concurrent repeat wait for the first and then fail, on PostgreSQL and SQLite alike."""

    __tablename__ = "form_submissions"
    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    endpoint: Mapped[str] = mapped_column(String(100))
    result_url: Mapped[str | None] = mapped_column(String(500))   # where a repeat is sent
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
