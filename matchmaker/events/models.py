"""银企对接会: the event, its slots and tables, who was invited and who registered, the meeting
requests, the schedule, check-in and each side's result.

An Event belongs to an organizer's district (NULL: city level). Registrations are per
enterprise (with one need) or per institution (with its managers and products); at most one
live registration per party per event, enforced by partial unique indexes. A MeetingRequest
is one enterprise × institution pair of an event (unique). The scheduler turns accepted
requests into Meetings; the database refuses a double booking on its own: one meeting per
table, per enterprise and per manager in a slot (a bank meets in parallel, one manager per
table, so its managers are its capacity).
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import vocab
from ..extensions import db
from ..types import WAN, utcnow

EVENT_STATUSES = ("draft", "published", "scheduled", "finished")
EVENT_STATUS_LABELS = {"draft": "筹备中", "published": "报名中", "scheduled": "已排程",
                       "finished": "已结束"}
INVITATION_SOURCES = ("matches", "whitelist", "district", "cluster")
INVITATION_SOURCE_LABELS = {"matches": "按匹配结果", "whitelist": "按白名单",
                            "district": "区县全部", "cluster": "产业集群全部"}
REGISTRATION_KINDS = ("enterprise", "institution")
REGISTRATION_STATUSES = ("registered", "waitlisted", "cancelled")
REGISTRATION_STATUS_LABELS = {"registered": "已报名", "waitlisted": "候补", "cancelled": "已取消"}
ATTENDANCE = ("present", "no_show")
REQUEST_ORIGINS = ("enterprise", "institution", "organizer")
REQUEST_STATUSES = ("pending", "accepted", "declined", "withdrawn")
REQUEST_STATUS_LABELS = {"pending": "待回复", "accepted": "已接受", "declined": "已婉拒",
                         "withdrawn": "已撤回"}
MEETING_STATUSES = ("scheduled", "held", "no_show")
MEETING_STATUS_LABELS = {"scheduled": "已排定", "held": "已洽谈", "no_show": "未到场"}
RESULT_SIDES = ("enterprise", "institution")
RESULT_OUTCOMES = ("no_fit", "follow_up", "intention")
RESULT_OUTCOME_LABELS = {"no_fit": "暂不匹配", "follow_up": "继续跟进", "intention": "签订意向"}
LIVE_REGISTRATION = text("status != 'cancelled'")


class Event(db.Model):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    day: Mapped[date] = mapped_column(Date)
    venue: Mapped[str] = mapped_column(String(255))
    # the organizing 经信委's district; NULL = a city-level event
    district: Mapped[str | None] = mapped_column(String(32), index=True)
    theme_cluster: Mapped[str | None] = mapped_column(String(48))
    theme_purpose: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    registration_deadline: Mapped[datetime]
    # meeting requests close here (NULL: at the registration deadline)
    requests_deadline: Mapped[datetime | None]
    enterprise_cap: Mapped[int | None]  # NULL: no cap
    institution_cap: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None]
    scheduled_at: Mapped[datetime | None]

    slots: Mapped[list["EventSlot"]] = relationship(
        back_populates="event", order_by="EventSlot.starts_at", cascade="all, delete-orphan")
    tables: Mapped[list["EventTable"]] = relationship(
        back_populates="event", order_by="EventTable.number", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint(vocab.sql_in_values("status", EVENT_STATUSES), name="status"),
        CheckConstraint(f"district IS NULL OR {vocab.sql_in('district', 'districts')}",
                        name="district"),
        CheckConstraint(f"theme_cluster IS NULL OR "
                        f"{vocab.sql_in('theme_cluster', 'clusters_33618')}", name="cluster"),
        CheckConstraint(f"theme_purpose IS NULL OR {vocab.sql_in('theme_purpose', 'purposes')}",
                        name="purpose"),
        CheckConstraint("enterprise_cap IS NULL OR enterprise_cap > 0", name="enterprise_cap"),
        CheckConstraint("institution_cap IS NULL OR institution_cap > 0",
                        name="institution_cap"),
        Index("ix_events_day", "day"),
    )

    @property
    def status_label(self) -> str:
        return EVENT_STATUS_LABELS[self.status]

    @property
    def requests_close_at(self) -> datetime:
        return self.requests_deadline or self.registration_deadline

    @property
    def theme_label(self) -> str:
        parts = [vocab.label("clusters_33618", self.theme_cluster) if self.theme_cluster else "",
                 vocab.label("purposes", self.theme_purpose) if self.theme_purpose else ""]
        return " · ".join(p for p in parts if p) or "综合"


class EventSlot(db.Model):
    """One meeting round: every table holds one meeting from starts_at to ends_at."""

    __tablename__ = "event_slots"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]

    event: Mapped[Event] = relationship(back_populates="slots")

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="order"),
        Index("ix_event_slots_event_start", "event_id", "starts_at"),
    )


class EventTable(db.Model):
    __tablename__ = "event_tables"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    number: Mapped[int]

    event: Mapped[Event] = relationship(back_populates="tables")

    __table_args__ = (
        UniqueConstraint("event_id", "number", name="uq_event_tables_event_number"),
        CheckConstraint("number > 0", name="number"),
    )

    @property
    def label(self) -> str:
        return f"{self.number}号桌"


class EventInvitation(db.Model):
    """An enterprise or institution the organizer invited (notified once per event)."""

    __tablename__ = "event_invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    source: Mapped[str] = mapped_column(String(16))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(vocab.sql_in_values("source", INVITATION_SOURCES), name="source"),
        CheckConstraint("(enterprise_id IS NULL) != (institution_id IS NULL)", name="party"),
        UniqueConstraint("event_id", "enterprise_id", name="uq_event_invitations_enterprise"),
        UniqueConstraint("event_id", "institution_id", name="uq_event_invitations_institution"),
    )


class Registration(db.Model):
    """An enterprise with one of its needs, or an institution with the managers and
    products it brings. `waitlisted` rows move up, oldest first, when a place frees."""

    __tablename__ = "event_registrations"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"),
                                                       index=True)
    status: Mapped[str] = mapped_column(String(16), default="registered")
    # the QR code's content: what staff scan or type at the door
    checkin_code: Mapped[str] = mapped_column(String(16), unique=True)
    # the enterprise agreed that the event's institutions see its profile and this need
    consent_at: Mapped[datetime | None]
    attendance: Mapped[str | None] = mapped_column(String(16))
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    event: Mapped[Event] = relationship()
    enterprise = relationship("Enterprise")
    need = relationship("Need")
    institution = relationship("Institution")
    manager_rows: Mapped[list["RegistrationManager"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    product_rows: Mapped[list["RegistrationProduct"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    unavailable_rows: Mapped[list["UnavailableSlot"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    checkin: Mapped["CheckIn | None"] = relationship(back_populates="registration",
                                                     uselist=False)

    __table_args__ = (
        CheckConstraint(vocab.sql_in_values("kind", REGISTRATION_KINDS), name="kind"),
        CheckConstraint(vocab.sql_in_values("status", REGISTRATION_STATUSES), name="status"),
        CheckConstraint(f"attendance IS NULL OR {vocab.sql_in_values('attendance', ATTENDANCE)}",
                        name="attendance"),
        CheckConstraint("(kind = 'enterprise' AND enterprise_id IS NOT NULL AND need_id IS NOT "
                        "NULL AND institution_id IS NULL) OR (kind = 'institution' AND "
                        "institution_id IS NOT NULL AND enterprise_id IS NULL AND need_id IS "
                        "NULL)", name="party"),
        Index("uq_event_registrations_enterprise", "event_id", "enterprise_id", unique=True,
              sqlite_where=LIVE_REGISTRATION, postgresql_where=LIVE_REGISTRATION),
        Index("uq_event_registrations_institution", "event_id", "institution_id", unique=True,
              sqlite_where=LIVE_REGISTRATION, postgresql_where=LIVE_REGISTRATION),
        Index("ix_event_registrations_event_status", "event_id", "kind", "status"),
    )

    @property
    def status_label(self) -> str:
        return REGISTRATION_STATUS_LABELS[self.status]

    @property
    def name(self) -> str:
        return self.enterprise.name if self.kind == "enterprise" else self.institution.name

    @property
    def manager_ids(self) -> list[int]:
        return [row.user_id for row in self.manager_rows]

    @property
    def product_ids(self) -> list[int]:
        return [row.product_id for row in self.product_rows]

    @property
    def unavailable_slot_ids(self) -> set[int]:
        return {row.slot_id for row in self.unavailable_rows}


class RegistrationManager(db.Model):
    """A bank manager the institution brings: each one can hold one meeting per slot."""

    __tablename__ = "event_registration_managers"
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registrations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    user = relationship("User", lazy="joined")


class RegistrationProduct(db.Model):
    __tablename__ = "event_registration_products"
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registrations.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    product = relationship("Product", lazy="joined")


class UnavailableSlot(db.Model):
    """A slot the participant cannot attend (the scheduler leaves it free)."""

    __tablename__ = "event_unavailable_slots"
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registrations.id", ondelete="CASCADE"), primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("event_slots.id", ondelete="CASCADE"),
                                         primary_key=True)


class MeetingRequest(db.Model):
    """One enterprise × institution pair of an event: asked by either side (the other
    accepts or declines) or set by the organizer as a must-meet (accepted at once)."""

    __tablename__ = "event_meeting_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    enterprise_registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registrations.id", ondelete="CASCADE"))
    institution_registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registrations.id", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    must_meet: Mapped[bool] = mapped_column(Boolean, default=False)
    # the best stored match of the need with the institution's registered products, when the
    # request was made: the scheduler's priority
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    match_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    message: Mapped[str | None] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    event: Mapped[Event] = relationship()
    enterprise_registration: Mapped[Registration] = relationship(
        foreign_keys=[enterprise_registration_id], lazy="joined")
    institution_registration: Mapped[Registration] = relationship(
        foreign_keys=[institution_registration_id], lazy="joined")
    product = relationship("Product")
    meeting: Mapped["Meeting | None"] = relationship(back_populates="request", uselist=False)

    __table_args__ = (
        CheckConstraint(vocab.sql_in_values("origin", REQUEST_ORIGINS), name="origin"),
        CheckConstraint(vocab.sql_in_values("status", REQUEST_STATUSES), name="status"),
        UniqueConstraint("enterprise_registration_id", "institution_registration_id",
                         name="uq_event_meeting_requests_pair"),
        Index("ix_event_meeting_requests_event_status", "event_id", "status"),
    )

    @property
    def status_label(self) -> str:
        return REQUEST_STATUS_LABELS[self.status]

    @property
    def priority(self) -> int:
        """The scheduler's weight: the match score (a pair without a stored match still
        counts, a little)."""
        return max(1, round(self.match_score)) if self.match_score is not None else 1

    def sender_side(self) -> str:
        return self.origin

    def receiver_side(self) -> str | None:
        return {"enterprise": "institution", "institution": "enterprise"}.get(self.origin)


class Meeting(db.Model):
    """A scheduled one-to-one meeting. The unique constraints are the no-double-booking
    rules: one meeting per table, per enterprise and per bank manager in a slot."""

    __tablename__ = "event_meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"),
                                          index=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("event_meeting_requests.id", ondelete="CASCADE"), unique=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("event_slots.id"))
    table_id: Mapped[int] = mapped_column(ForeignKey("event_tables.id"))
    # redundant with the request, kept so that the database can refuse a double booking
    enterprise_registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registrations.id", ondelete="CASCADE"))
    institution_registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registrations.id", ondelete="CASCADE"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    moved_at: Mapped[datetime | None]
    moved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    event: Mapped[Event] = relationship()
    request: Mapped[MeetingRequest] = relationship(back_populates="meeting", lazy="joined")
    slot: Mapped[EventSlot] = relationship(lazy="joined")
    table: Mapped[EventTable] = relationship(lazy="joined")
    manager = relationship("User", foreign_keys=[manager_id])
    enterprise_registration: Mapped[Registration] = relationship(
        foreign_keys=[enterprise_registration_id])
    institution_registration: Mapped[Registration] = relationship(
        foreign_keys=[institution_registration_id])
    results: Mapped[list["MeetingResult"]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingResult.id")

    __table_args__ = (
        CheckConstraint(vocab.sql_in_values("status", MEETING_STATUSES), name="status"),
        UniqueConstraint("slot_id", "table_id", name="uq_event_meetings_table"),
        UniqueConstraint("slot_id", "enterprise_registration_id",
                         name="uq_event_meetings_enterprise"),
        UniqueConstraint("slot_id", "manager_id", name="uq_event_meetings_manager"),
    )

    @property
    def status_label(self) -> str:
        return MEETING_STATUS_LABELS[self.status]

    def result_of(self, side: str) -> "MeetingResult | None":
        return next((r for r in self.results if r.side == side), None)


class CheckIn(db.Model):
    __tablename__ = "event_checkins"
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registrations.id", ondelete="CASCADE"), unique=True)
    checked_in_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(String(8))  # qr | code

    registration: Mapped[Registration] = relationship(back_populates="checkin")

    __table_args__ = (CheckConstraint("method IN ('qr', 'code')", name="method"),)


class MeetingResult(db.Model):
    """One side's account of a meeting. A follow-up or a signed intention opens a lead
    (source 'event'), so the loan is followed to its outcome."""

    __tablename__ = "event_meeting_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("event_meetings.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    amount_wan: Mapped[Decimal | None] = mapped_column(WAN)
    note: Mapped[str | None] = mapped_column(Text)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="results")
    lead = relationship("Lead")

    __table_args__ = (
        CheckConstraint(vocab.sql_in_values("side", RESULT_SIDES), name="side"),
        CheckConstraint(vocab.sql_in_values("outcome", RESULT_OUTCOMES), name="outcome"),
        CheckConstraint("(outcome = 'intention') = (amount_wan IS NOT NULL)",
                        name="intention_amount"),
        CheckConstraint("amount_wan IS NULL OR amount_wan > 0", name="amount"),
        UniqueConstraint("meeting_id", "side", name="uq_event_meeting_results_side"),
    )

    @property
    def outcome_label(self) -> str:
        return RESULT_OUTCOME_LABELS[self.outcome]
