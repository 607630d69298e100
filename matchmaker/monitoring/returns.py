"""The banks' monthly 制造业贷款 return (渝经信规范〔2024〕7号 五(五): 制造业贷款占比和增速列入
考评; the platform cannot see a bank's whole book, so each bank files these figures).

A return reports a month; it is due by day `bank_return_due_day` (setting, default 10) of the
next month. The reminder job tells the bank admins of banks that have not filed, in the three
days before the deadline; after it the bank is on the organizers' 督办 list until it files."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from .. import clock
from ..accounts.models import User
from ..audit.service import record
from ..errors import ServiceError
from ..events.figures import add_months
from ..extensions import db
from ..guards import guarded
from ..institutions.models import Institution, InstitutionDistrict
from ..notifications.service import notify_all
from ..policy.service import setting
from .models import BankReturn
from .permissions import can_file_return

REMIND_DAYS = 3  # reminders start this many days before the deadline
FIELDS = ("loans_total_wan", "mfg_balance_wan", "mfg_increase_wan", "long_term_wan",
          "credit_wan", "first_loan_borrowers")


def first_of(day: date) -> date:
    return day.replace(day=1)


def due_date(month: date) -> date:
    """The deadline of a month's return: day N of the next month (China date)."""
    day = int(setting("bank_return_due_day", 10))
    return add_months(first_of(month), 1).replace(day=max(1, min(day, 28)))


def month_due(today: date | None = None) -> date:
    """The month whose return is being collected now: last month."""
    today = today or clock.china_today()
    return add_months(first_of(today), -1)


def banks():
    return select(Institution).where(Institution.kind == "bank").order_by(Institution.name)


def return_for(institution_id: int, month: date) -> BankReturn | None:
    return db.session.scalar(select(BankReturn).where(
        BankReturn.institution_id == institution_id, BankReturn.month == first_of(month)))


def _check(values: dict, previous: BankReturn | None) -> None:
    """Errors beside their field (ServiceError.field); the database CHECKs are the backstop."""
    for name in FIELDS:
        if values.get(name) is None:
            raise ServiceError("请填写该项", field=name)
    if values["loans_total_wan"] <= 0:
        raise ServiceError("各项贷款余额必须大于0", field="loans_total_wan")
    if values["mfg_balance_wan"] < 0 or values["mfg_balance_wan"] > values["loans_total_wan"]:
        raise ServiceError("制造业贷款余额应在0与各项贷款余额之间", field="mfg_balance_wan")
    for name, label in (("long_term_wan", "中长期贷款余额"), ("credit_wan", "信用贷款余额")):
        if values[name] < 0 or values[name] > values["mfg_balance_wan"]:
            raise ServiceError(f"{label}应在0与制造业贷款余额之间", field=name)
    if values["first_loan_borrowers"] < 0:
        raise ServiceError("首贷户数不能为负", field="first_loan_borrowers")
    if previous is not None:
        expected = values["mfg_balance_wan"] - previous.mfg_balance_wan
        if abs(values["mfg_increase_wan"] - expected) > Decimal("0.01"):
            raise ServiceError(
                f"当月增量应等于本月余额减上月余额（{previous.mfg_balance_wan}万元），"
                f"即 {expected} 万元", field="mfg_increase_wan")


@guarded(can_file_return, "institution", message="只有本机构的机构管理员可以报送月报")
def file_return(actor, institution: Institution, month: date, **values) -> BankReturn:
    """File (or correct) one month's return for the actor's bank."""
    month = first_of(month)
    if month >= first_of(clock.china_today()):
        raise ServiceError("只能报送已结束月份的数据", field="month")
    previous = return_for(institution.id, add_months(month, -1))
    _check(values, previous)
    row = return_for(institution.id, month)
    action = "monitoring.return_corrected" if row else "monitoring.return_submitted"
    if row is None:
        row = BankReturn(institution_id=institution.id, month=month)
        db.session.add(row)
    for name in FIELDS:
        setattr(row, name, values[name])
    row.submitted_at, row.submitted_by_id = clock.now(), actor.id
    db.session.flush()
    record(actor, action, row, month=month.isoformat())
    return row


@dataclass
class Overdue:
    institution: Institution
    month: date
    due: date


def overdue(district: str | None = None, today: date | None = None) -> list[Overdue]:
    """The 督办 list: banks (serving the district, for a district organizer) with no return
    for the month being collected once its deadline has passed."""
    today = today or clock.china_today()
    month = month_due(today)
    due = due_date(month)
    if today <= due:
        return []
    filed = select(BankReturn.institution_id).where(BankReturn.month == month)
    query = banks().where(Institution.id.not_in(filed))
    if district:
        listed = select(InstitutionDistrict.institution_id).where(
            InstitutionDistrict.value == district)
        query = query.where(Institution.id.in_(listed)
                            | Institution.id.not_in(select(InstitutionDistrict.institution_id)))
    return [Overdue(bank, month, due) for bank in db.session.scalars(query)]


def remind(today: date | None = None) -> int:
    """Tell the admins of banks that have not filed, in the days before the deadline. Run
    daily (job monitoring.remind_returns); returns the number of banks reminded."""
    today = today or clock.china_today()
    month = month_due(today)
    due = due_date(month)
    if not 0 <= (due - today).days <= REMIND_DAYS:
        return 0
    filed = select(BankReturn.institution_id).where(BankReturn.month == month)
    reminded = 0
    for bank in db.session.scalars(banks().where(Institution.id.not_in(filed))):
        admins = db.session.scalars(select(User).where(
            User.institution_id == bank.id, User.role == "bank_admin")).all()
        reminded += bool(notify_all(
            admins, "monitoring.return_reminder",
            f"请于{due.month}月{due.day}日前报送{month.year}年{month.month}月制造业贷款月报",
            link="/monitoring/returns", email=True))
    return reminded
