"""A participant's agenda as an .ics calendar (icalendar) and the check-in QR code (segno).
Pure functions of the rows they are given; the views serve the bytes."""
import io
from datetime import UTC

import segno
from icalendar import Calendar
from icalendar import Event as CalendarEvent

from .models import Event, Meeting, Registration

PRODID = "-//matchmaker//银企对接会//ZH"


def counterpart(meeting: Meeting, registration: Registration) -> Registration:
    return (meeting.institution_registration if registration.kind == "enterprise"
            else meeting.enterprise_registration)


def ics(event: Event, registration: Registration, meetings: list[Meeting], host: str) -> bytes:
    """One VEVENT per meeting (UTC times, so every calendar app places them right)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{event.title} · 洽谈日程")
    for meeting in meetings:
        other = counterpart(meeting, registration)
        item = CalendarEvent()
        item.add("uid", f"event-{event.id}-meeting-{meeting.id}-{registration.kind}@{host}")
        item.add("dtstamp", meeting.created_at.astimezone(UTC))
        item.add("dtstart", meeting.slot.starts_at.astimezone(UTC))
        item.add("dtend", meeting.slot.ends_at.astimezone(UTC))
        item.add("summary", f"洽谈：{other.name}")
        item.add("location", f"{event.venue} {meeting.table.label}")
        item.add("description", f"{event.title}\n{meeting.table.label}\n"
                                f"签到码：{registration.checkin_code}")
        cal.add_component(item)
    return cal.to_ical()


def qr(content: str, kind: str) -> bytes:
    """The check-in QR code as SVG or PNG (medium error correction: survives a crease)."""
    code = segno.make(content, error="m", micro=False)
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=6, border=2, xmldecl=False,
                  title="签到二维码")
    else:
        code.save(out, kind="png", scale=8, border=2)
    return out.getvalue()
