"""Sending e-mail over SMTP (the standard library's smtplib), when SMTP_* settings are configured.

No Flask and no database here: services hand in the settings and the messages.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

SECURITY_KINDS = ("starttls", "ssl", "none")


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    security: str = "starttls"  # starttls | ssl | none
    timeout: float = 10.0


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def send_all(settings: MailSettings, mails: list[Mail]) -> list[str]:
    """Send each mail over one connection; returns the addresses that could not be reached (a refused
    recipient, or all of them when the server cannot be reached), so the caller can say so."""
    if not mails:
        return []
    try:
        smtp_class = smtplib.SMTP_SSL if settings.security == "ssl" else smtplib.SMTP
        kwargs = {"context": ssl.create_default_context()} if settings.security == "ssl" else {}
        with smtp_class(settings.host, settings.port, timeout=settings.timeout, **kwargs) as smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            failed = []
            for mail in mails:
                try:
                    smtp.send_message(_message(settings, mail))
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
                    failed.append(mail.to)
            return failed
    except (OSError, smtplib.SMTPException):
        return [m.to for m in mails]


def _message(settings: MailSettings, mail: Mail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    msg.set_content(mail.body)
    return msg
