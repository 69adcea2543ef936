"""The tool inside the LMS's iframe: PyLTI1p3's login and launch on the server-side store
(services/lti_storage.py) instead of cookies, and which sites may frame the tool's pages.

A launch is posted cross-site from the LMS's page; the browser may send no cookie of ours at all.
So the state and nonce PyLTI1p3 makes at login initiation are kept on the server, keyed by themselves,
and spent (removed atomically) by the launch that uses them: a replayed id_token finds neither.
See docs/lti.md.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional
from urllib.parse import urlsplit

from sqlmodel import Session, select

from ..models import LtiPlatform
from . import lti_storage

LAUNCH_PRESENTATION_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
TOOL_PLATFORM_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/tool_platform"
DEEP_LINKING_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def login(db: Session, tool_conf, launch_url: str, redis_url: Optional[str]):
    """OIDC login initiation with the state and nonce kept on the server for STATE_LIFETIME."""
    from pylti1p3.contrib.flask import FlaskOIDCLogin, FlaskRequest

    store = lti_storage.launch_store(db, redis_url)
    store.sweep()
    oidc = FlaskOIDCLogin(FlaskRequest(), tool_conf, launch_data_storage=store)
    oidc.set_launch_data_storage(store).set_launch_data_lifetime(lti_storage.STATE_LIFETIME)
    # Recorded under the state: the launch accepts a state only while this record exists.
    oidc.pass_params_to_launch({"issued": True})
    return oidc.redirect(launch_url)


def message_launch(db: Session, tool_conf, redis_url: Optional[str]):
    """PyLTI1p3's launch, checking the state against the server-side record (not a cookie).
    After `get_launch_data()` succeeds, call `spend()`: it removes the nonce and the state for good."""
    from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskRequest
    from pylti1p3.exception import LtiException

    store = lti_storage.launch_store(db, redis_url)

    class ServerStateLaunch(FlaskMessageLaunch):
        def validate_state(self):
            state = self._get_request_param("state")
            if not state or not store.check_value(f"lti1p3-{state}"):
                raise LtiException("State not found")
            return self

        def spend(self) -> None:
            state = self._get_request_param("state")
            nonce = self._get_jwt_body().get("nonce")
            # The nonce is the ticket: one atomic take, so of two posts of one id_token exactly one wins.
            took_nonce = store.take(f"lti1p3-nonce-{nonce}")
            store.take(f"lti1p3-{state}")
            store.take(f"lti1p3-{state}-id-token-hash")
            if took_nonce is None:  # another post of the same id_token got there first
                raise LtiException("Invalid Nonce: already used")

        def forget(self) -> None:
            """Drops PyLTI1p3's copy of the launch (a resource launch needs it no more)."""
            store.take(self.get_launch_id())

    launch = ServerStateLaunch(FlaskRequest(), tool_conf, launch_data_storage=store)
    launch.set_launch_data_lifetime(lti_storage.LAUNCH_LIFETIME)
    return launch


def restored_launch(db: Session, tool_conf, redis_url: Optional[str], launch_id: str):
    """A launch kept on the server (a deep-linking request waiting for the instructor's choice), or None."""
    from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskRequest
    from pylti1p3.exception import LtiException

    if not re.fullmatch(r"lti1p3-launch-[0-9a-f-]{36}", launch_id or ""):
        return None
    store = lti_storage.launch_store(db, redis_url)
    try:
        return FlaskMessageLaunch.from_cache(launch_id, FlaskRequest(), tool_conf, launch_data_storage=store)
    except LtiException:
        return None


def forget_launch(db: Session, redis_url: Optional[str], launch_id: str) -> bool:
    """Removes a kept launch; False when it was already gone (used once already)."""
    return lti_storage.launch_store(db, redis_url).take(launch_id) is not None


def _origin(url) -> Optional[str]:
    parts = urlsplit(str(url or "").strip())
    if parts.scheme not in ("http", "https") or not _HOST.match(parts.netloc or ""):
        return None  # no user info, spaces or separators: an origin goes into a header as it is
    return f"{parts.scheme}://{parts.netloc.lower()}"


def origins_of(urls: Iterable) -> list[str]:
    """The distinct origins (scheme://host:port) of these addresses, leaving out anything not a plain http(s) URL."""
    return sorted({origin for origin in map(_origin, urls) if origin})


def platform_origins(platform: LtiPlatform) -> list[str]:
    return origins_of([platform.issuer, platform.auth_login_url, platform.auth_token_url, platform.key_set_url])


def launch_frame_origins(platform: LtiPlatform, data: dict) -> list[str]:
    """The sites that may frame the tool after this launch: the registered platform's addresses, and the
    addresses the platform names in its signed launch (hosted Canvas registers sso.canvaslms.com but
    shows the tool on the school's own Canvas host, which its return URLs carry)."""
    claimed = [(data.get(LAUNCH_PRESENTATION_CLAIM) or {}).get("return_url"),
               (data.get(TOOL_PLATFORM_CLAIM) or {}).get("url"),
               (data.get(DEEP_LINKING_CLAIM) or {}).get("deep_link_return_url")]
    return origins_of(platform_origins(platform) + [c for c in claimed if isinstance(c, str)])


def registered_origins(db: Session) -> list[str]:
    """Every registered platform's origins (the /lti/ pages may be framed by any of them)."""
    out: set[str] = set()
    for platform in db.exec(select(LtiPlatform)):
        out.update(platform_origins(platform))
    return sorted(out)
