"""Outgoing mail: SMTP when MAIL_SERVER is set, else .eml files under instance/outbox/."""
import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app

from .types import utcnow

log = logging.getLogger(__name__)


def send_mail(to: str, subject: str, body: str) -> None:
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="matchmaker.local")
    msg.set_content(body)
    if cfg.get("MAIL_SERVER"):
        with smtplib.SMTP(cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), timeout=20) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(msg)
        log.info("mail %s sent by SMTP", msg["Message-ID"])
        return
    outbox = Path(cfg.get("MAIL_OUTBOX") or Path(current_app.instance_path) / "outbox")
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S%f}-{msg['Message-ID'].strip('<>').split('@')[0]}.eml"
    (outbox / name).write_bytes(bytes(msg))
    log.info("mail %s written to outbox", msg["Message-ID"])
