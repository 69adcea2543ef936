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


def invitation_mail(to: str, name: str, course_title: str, url: str, expires: str) -> Mail:
    """A course invitation, in the same words for a new address and an existing account (the link's
    page says which step follows)."""
    return Mail(to=to, subject=f"You are invited to {course_title}",
                body=(f"Hello {name},\n\n"
                      f"Your instructor invited you to the course “{course_title}” in the critique classroom.\n"
                      f"Open this link to join (it works once, until {expires}):\n\n{url}\n\n"
                      "If you have no password yet, the link lets you choose one. If you already have an "
                      "account with this address, log in with it and accept the invitation.\n"))


def send_all(settings: MailSettings, mails: list[Mail]) -> list[str]:
    """Send each mail over one connection; returns the addresses that could not be reached (a refused
    recipient, or all of them when the server cannot be reached), so the caller can say so."""
    return list(send_each(settings, mails))


def send_each(settings: MailSettings, mails: list[Mail]) -> dict[str, str]:
    """Send each mail over one connection; returns {address: why it failed} for those not sent (a
    refused recipient, or all of them when the server cannot be reached), in words for the instructor."""
    if not mails:
        return {}
    try:
        smtp_class = smtplib.SMTP_SSL if settings.security == "ssl" else smtplib.SMTP
        kwargs = {"context": ssl.create_default_context()} if settings.security == "ssl" else {}
        with smtp_class(settings.host, settings.port, timeout=settings.timeout, **kwargs) as smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            failed = {}
            for mail in mails:
                try:
                    smtp.send_message(_message(settings, mail))
                except smtplib.SMTPRecipientsRefused as exc:
                    failed[mail.to] = "the mail server refused the address" + _server_said(
                        next(iter(exc.recipients.values()), None))
                except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                    failed[mail.to] = "the mail server refused the message" + _server_said(
                        (exc.smtp_code, exc.smtp_error))
            return failed
    except smtplib.SMTPAuthenticationError:
        reason = "the mail server did not accept SMTP_USERNAME and SMTP_PASSWORD"
    except (OSError, smtplib.SMTPException) as exc:
        reason = f"the mail server could not be reached ({type(exc).__name__}: {str(exc)[:120]})"
    return {m.to: reason for m in mails}


def _server_said(reply) -> str:
    try:
        code, text = reply
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f" ({code} {text[:160]})"
    except (TypeError, ValueError):
        return ""


def _message(settings: MailSettings, mail: Mail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    msg.set_content(mail.body)
    return msg
