"""How urgent a deadline is, at a glance: working days left (工作日, policy.workdays, the
administrators' calendar) counted from the Beijing date. Overdue is red, due today amber;
the lists (inbox, my needs, whitelist pushes, event requests) and the need page share it."""
from dataclasses import dataclass
from datetime import date

from .. import clock
from ..policy import workdays


@dataclass(frozen=True)
class Countdown:
    day: date
    working_days: int  # left (negative: overdue by that many working days)
    level: str  # overdue | today | soon | later

    @property
    def label(self) -> str:
        if self.level == "overdue":
            return f"已超时{max(1, -self.working_days)}个工作日"
        if self.level == "today":
            return "今天截止"
        return f"剩{self.working_days}个工作日"

    @property
    def style(self) -> str:
        return {"overdue": "text-bg-danger", "today": "text-bg-warning",
                "soon": "text-bg-info", "later": "text-bg-light border"}[self.level]


def countdown(day: date | None, today: date | None = None) -> Countdown | None:
    if day is None:
        return None
    today = today or clock.china_today()
    if day < today:
        return Countdown(day, -workdays.working_days_between(day, today), "overdue")
    if day == today:
        return Countdown(day, 0, "today")
    left = workdays.working_days_between(today, day)
    return Countdown(day, left, "soon" if left <= 2 else "later")
