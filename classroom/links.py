"""Absolute links to the password and invitation pages, for invitation lists, e-mails and the command line.

With PUBLIC_URL set its scheme and host are used, never the request's Host header (which whoever
sends the request chooses); without it, the address the request came to.
"""
from urllib.parse import urlsplit

from flask import current_app, url_for


def password_link(token: str) -> str:
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        return url_for("auth.set_password", token=token, _external=True)
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}{url_for('auth.set_password', token=token)}"


def public_url(path: str) -> str:
    """An absolute address for a path of this app (PUBLIC_URL's host when set)."""
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        return url_for("web.home", _external=True).rstrip("/") + path
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}{path}"


def invitation_link(token: str) -> str:
    """A course invitation's link (roster rows): the same for a new address and an existing account."""
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        return url_for("auth.invitation", token=token, _external=True)
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}{url_for('auth.invitation', token=token)}"
