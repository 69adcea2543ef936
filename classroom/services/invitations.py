"""Handing out single-use links: the invitation list a roster upload makes (a CSV for the
instructor), and the e-mails sent when SMTP is configured (invitations, "forgot password").

Links are made by the caller's `link_url(token)`, so this layer knows no routes and no request.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional

from ..mail import Mail, MailSettings, send_all


def csv_cell(value: str) -> str:
    """A leading = + - @ would make a spreadsheet run the cell as a formula: such a cell gets a '."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@dataclass
class Invitation:
    email: str
    name: str
    token: str
    expires_at: datetime


def invitations_csv(invitations: list[Invitation], link_url: Callable[[str], str]) -> str:
    """email,name,link,expires: the list an instructor hands out (or mails) when e-mail is not set up."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["email", "name", "link", "expires"])
    for inv in invitations:
        writer.writerow([csv_cell(inv.email), csv_cell(inv.name), link_url(inv.token),
                         inv.expires_at.strftime("%Y-%m-%d %H:%M UTC")])
    return out.getvalue()


def send_invitations(settings: Optional[MailSettings], invitations: list[Invitation], course_title: str,
                     link_url: Callable[[str], str]) -> tuple[int, list[str]]:
    """(how many were sent, addresses that failed); (0, []) without SMTP settings."""
    if settings is None or not invitations:
        return 0, []
    mails = [Mail(to=inv.email, subject=f"You are invited to {course_title}",
                  body=(f"Hello {inv.name},\n\n"
                        f"Your instructor added you to the course “{course_title}” in the critique classroom.\n"
                        f"Choose your password with this link (it works once, until "
                        f"{inv.expires_at.strftime('%Y-%m-%d %H:%M UTC')}):\n\n{link_url(inv.token)}\n\n"
                        "Then log in with this e-mail address and the password you chose.\n"))
             for inv in invitations]
    failed = send_all(settings, mails)
    return len(mails) - len(failed), failed


def send_reset(settings: MailSettings, email: str, name: str, token: str, minutes: int,
               link_url: Callable[[str], str]) -> bool:
    mail = Mail(to=email, subject="Choose a new password",
                body=(f"Hello {name},\n\nSomeone (we hope you) asked to reset the password of your critique "
                      f"classroom account. Choose a new one with this link; it works once, for {minutes} "
                      f"minutes:\n\n{link_url(token)}\n\nIf you did not ask, ignore this message: "
                      "your password stays as it is.\n"))
    return not send_all(settings, [mail])
