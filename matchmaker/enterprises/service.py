"""Enterprises and their needs: the rules that need the database. Flush, never commit."""
from sqlalchemy import select

from .. import uscc as uscc_rules
from ..accounts.service import create_user
from ..audit.service import record
from ..errors import ServiceError
from ..extensions import db
from .models import Enterprise


def enterprise_ref_for(uscc: str) -> str:
    """Platform-registered enterprises take a ref derived from the USCC: stable and unique."""
    return f"E-{uscc}"


def register_enterprise(*, company_name: str, uscc: str, district: str, industry: str,
                        employees: int, revenue_wan, founded, name: str, email: str,
                        password: str):
    """A finance manager registers the company and becomes its first (admin) user."""
    code = uscc_rules.normalize(uscc)
    message = uscc_rules.problem(code)
    if message:
        raise ServiceError(message, field="uscc")
    if db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == code)):
        raise ServiceError("该统一社会信用代码已注册，请联系贵公司已注册的同事邀请您加入", field="uscc")
    enterprise = Enterprise(
        ref=enterprise_ref_for(code), name=company_name.strip(), uscc=code, district=district,
        industry=industry, employees=employees, revenue_wan=revenue_wan, founded=founded)
    db.session.add(enterprise)
    db.session.flush()
    user = create_user(email=email, name=name, password=password, role="enterprise",
                       enterprise_id=enterprise.id, is_enterprise_admin=True)
    record(user, "enterprise.created", enterprise, via="registration")
    record(user, "user.registered", user)
    return enterprise, user
