from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import vocab
from ..extensions import db
from ..types import utcnow

# applicant: a person who registered with the USCC of an enterprise the platform already knows;
# the account works, but holds no enterprise until the enterprise's admin or an organizer of its
# district approves the claim (enterprises.members): no role gate admits it anywhere else
ROLES = ("enterprise", "bank_manager", "bank_admin", "organizer", "admin", "applicant")
BANK_ROLES = ("bank_manager", "bank_admin")
ROLE_LABELS = {
    "enterprise": "企业用户",
    "bank_manager": "客户经理",
    "bank_admin": "机构管理员",
    "organizer": "组织方（经信委/金融办/人民银行）",
    "admin": "平台管理员",
    "applicant": "企业用户（认领待审核）",
}
# the navbar badge: short enough to keep the organizer's nine links on one line
ROLE_SHORT_LABELS = {"enterprise": "企业", "bank_manager": "客户经理", "bank_admin": "机构管理员",
                     "organizer": "组织方", "admin": "管理员", "applicant": "待审核"}
_ROLE_IN = "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    # the enterprise user who registered the company may invite colleagues
    is_enterprise_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # organizers: NULL = city level, else the district whose 经信委 they work for
    district: Mapped[str | None] = mapped_column(String(32))
    organization: Mapped[str | None] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # bumped on logout and password change: every session cookie carrying the old value dies
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    institution = relationship("Institution", foreign_keys=[institution_id])
    enterprise = relationship("Enterprise", foreign_keys=[enterprise_id])

    __table_args__ = (
        CheckConstraint(_ROLE_IN, name="role"),
        CheckConstraint(
            "(role IN ('bank_manager', 'bank_admin')) = (institution_id IS NOT NULL)",
            name="institution_for_bank_roles"),
        CheckConstraint("role != 'enterprise' OR enterprise_id IS NOT NULL",
                        name="enterprise_for_enterprise_role"),
        # an applicant holds no enterprise until its claim is approved
        CheckConstraint("role != 'applicant' OR enterprise_id IS NULL",
                        name="no_enterprise_for_applicant"),
        CheckConstraint(f"district IS NULL OR {vocab.sql_in('district', 'districts')}",
                        name="district"),
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def role_short_label(self) -> str:
        return ROLE_SHORT_LABELS[self.role]


class Invitation(db.Model):
    """A single-use, expiring invitation; only the token's hash is stored."""

    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    # the first user of an enterprise an organizer collected becomes its admin (who then
    # invites colleagues); a colleague invited by that admin does not
    enterprise_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    district: Mapped[str | None] = mapped_column(String(32))
    organization: Mapped[str | None] = mapped_column(String(128))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]

    institution = relationship("Institution")
    enterprise = relationship("Enterprise")
    invited_by = relationship("User", foreign_keys=[invited_by_id])

    __table_args__ = (CheckConstraint(_ROLE_IN, name="role"),)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]
