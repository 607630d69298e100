from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..types import utcnow

STATUSES = ("queued", "running", "done", "failed")
STATUS_LABELS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}
ACTIVE = ("queued", "running")


class Job(db.Model):
    """One piece of background work: what to run (a registered kind with JSON params), who
    started it, and how far it got. The row is the truth; Redis (RQ) or the in-process runner
    only carry its id, so a lost queue entry loses nothing (see runner.recover)."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    # coalescing: at most one queued job per key (a second change while one waits adds nothing:
    # the waiting job reads the database when it starts)
    key: Mapped[str | None] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    children_total: Mapped[int] = mapped_column(default=0)
    children_done: Mapped[int] = mapped_column(default=0)
    backend: Mapped[str | None] = mapped_column(String(16))
    worker: Mapped[str | None] = mapped_column(String(120))  # host:pid running it
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    started_by = relationship("User")

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_key_status", "key", "status"),
        Index("ix_jobs_parent_id", "parent_id"),
        Index("ix_jobs_started_by_id", "started_by_id"),
    )

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def as_status(self) -> dict:
        """What the polling page reads (static/js/jobs.js)."""
        return {"id": self.id, "status": self.status, "status_label": self.status_label,
                "progress": self.progress, "message": self.message or "",
                "error": self.error if self.status == "failed" else None,
                "finished": self.finished, "description": self.description,
                "result": self.result if self.status == "done" else None}
