"""LTI 1.3: platforms (LMSs) registered by an administrator, the tool's own key pair, and launches.

PyLTI1p3 does the protocol (OIDC login initiation, state, nonce, the id_token's signature against the
platform's JWKS, the deployment); this module feeds it the registrations kept in the database and turns
a verified launch into a signed-in account enrolled in the course linked to the LMS context.
See docs/lti.md.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..models import (LTI_EMAIL_DOMAIN, ROLE_INSTRUCTOR, ROLE_STUDENT, Course, Enrollment, LtiAccount, LtiContext,
                      LtiDeployment, LtiPlatform, User, utcnow)
from . import accounts, audit, courses, lti_deep_linking, lti_frame
from .errors import Conflict, InvalidInput, NotFound

ROLE_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/roles"
CONTEXT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/context"
# LIS roles that make a launch an instructor's (membership roles; the short forms some LMSs send too).
INSTRUCTOR_ROLES = ("http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
                    "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",
                    "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",
                    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
                    "Instructor")


PLATFORM_OFF = ("An administrator has switched this LMS off in the classroom, so its launches are refused. "
                "Ask an administrator of the classroom if it should be on again.")
DEPLOYMENT_OFF = ("An administrator has switched this deployment of the tool off in the classroom, so "
                  "launches through it are refused. Ask an administrator of the classroom if it should be on again.")


class LaunchRefused(Exception):
    """A login initiation or launch that cannot go on; `message` says why, for the person in the LMS."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------- the tool's key pair

def tool_private_key(path: str) -> str:
    """The tool's RSA private key (PEM), generated on first use and kept at `path` (LTI_PRIVATE_KEY_FILE),
    like the secret key: the LMS trusts this key, so it must survive restarts."""
    key_path = Path(path)
    if key_path.exists():
        return key_path.read_text()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    key_path.parent.mkdir(parents=True, exist_ok=True)
    # Written readable by the owner only, and atomically, so two workers starting at once keep one key.
    tmp = key_path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(pem)
    try:
        os.link(tmp, key_path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return key_path.read_text()


def tool_public_key(private_pem: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def tool_jwks(private_pem: str) -> dict:
    """The public half as a JSON Web Key Set (what `GET /lti/jwks` serves)."""
    from pylti1p3.registration import Registration

    return {"keys": [Registration.get_jwk(tool_public_key(private_pem))]}


def tool_urls(public_url: Optional[str]) -> dict[str, str]:
    """The addresses to paste into the LMS, built from PUBLIC_URL (never from a request's Host header)."""
    if not public_url:
        raise InvalidInput("Set PUBLIC_URL to the address the LMS reaches the classroom at (for example "
                           "https://classroom.school.edu): the LMS needs full addresses for the tool.")
    base = public_url.rstrip("/")
    return {"login initiation URL": f"{base}/lti/login", "launch (redirect) URL": f"{base}/lti/launch",
            "JWKS URL": f"{base}/lti/jwks", "deep-linking URL": f"{base}/lti/launch"}


# ---------------------------------------------------------------- registration

def _checked_url(value, label: str, field: str) -> str:
    text = (value or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 1000:
        raise InvalidInput(f"The {label} must be a full web address starting with https:// "
                           f"(at most 1000 characters), got {text!r}.", field=field)
    return text


def _checked_id(value, label: str, field: str) -> str:
    text = (value or "").strip()
    if not text or len(text) > 255:
        raise InvalidInput(f"The {label} must be given, at most 255 characters.", field=field)
    return text


def check_platform(*, issuer, client_id, auth_login_url, auth_token_url, key_set_url, deployment_id):
    """add_platform's checks without saving (the admin page shows them with the form's own): the cleaned
    issuer, client id, the three URLs by field, and deployment id."""
    issuer = _checked_url(issuer, "issuer", "issuer")
    if len(issuer) > 500:
        raise InvalidInput("The issuer must be at most 500 characters.", field="issuer")
    client_id = _checked_id(client_id, "client id", "client_id")
    urls = {"auth_login_url": _checked_url(auth_login_url, "authentication (login) URL", "auth_login_url"),
            "auth_token_url": _checked_url(auth_token_url, "access token URL", "auth_token_url"),
            "key_set_url": _checked_url(key_set_url, "key set (JWKS) URL", "key_set_url")}
    deployment_id = _checked_id(deployment_id, "deployment id", "deployment_id")
    return issuer, client_id, urls, deployment_id


def add_platform(db: Session, *, issuer, client_id, auth_login_url, auth_token_url, key_set_url,
                 deployment_id) -> tuple[LtiPlatform, bool]:
    """Registers a platform, or adds a deployment to one already registered with this issuer and client id.
    Returns the platform and whether the deployment is new."""
    issuer, client_id, urls, deployment_id = check_platform(
        issuer=issuer, client_id=client_id, auth_login_url=auth_login_url, auth_token_url=auth_token_url,
        key_set_url=key_set_url, deployment_id=deployment_id)
    platform = db.exec(select(LtiPlatform).where(LtiPlatform.issuer == issuer,
                                                 LtiPlatform.client_id == client_id)).first()
    if platform is None:
        platform = LtiPlatform(issuer=issuer, client_id=client_id, **urls)
        db.add(platform)
        db.flush()
    else:  # registering again updates the platform's addresses (an LMS moved its endpoints)
        for name, value in urls.items():
            setattr(platform, name, value)
    known = db.exec(select(LtiDeployment).where(LtiDeployment.platform_id == platform.id,
                                                LtiDeployment.deployment_id == deployment_id)).first()
    if known is None:
        db.add(LtiDeployment(platform_id=platform.id, deployment_id=deployment_id))
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise Conflict("That platform was being registered at the same moment; run the command again.")
    return platform, known is None


def platforms(db: Session) -> list[tuple[LtiPlatform, list[LtiDeployment]]]:
    out = []
    for platform in db.exec(select(LtiPlatform).order_by(LtiPlatform.id)):
        deployments = db.exec(select(LtiDeployment).where(LtiDeployment.platform_id == platform.id)
                              .order_by(LtiDeployment.id)).all()
        out.append((platform, list(deployments)))
    return out


def set_platform_active(db: Session, admin: User, platform_id: int, active: bool) -> LtiPlatform:
    """Switches a registered LMS off (its launches and deep-linking choices are refused from then on) or on
    again. Nothing is deleted: its accounts, courses, links and scores stay."""
    accounts.require_admin(admin)
    platform = db.get(LtiPlatform, platform_id)
    if platform is None:
        raise NotFound("No such LTI platform.")
    if (platform.disabled_at is None) != active:
        platform.disabled_at = None if active else utcnow()
        db.add(platform)
        audit.record(db, admin, None, "lti.platform_on" if active else "lti.platform_off",
                     f"lti platform {platform.id}", {"issuer": platform.issuer, "client_id": platform.client_id})
    db.commit()
    return platform


def set_deployment_active(db: Session, admin: User, deployment_id: int, active: bool) -> tuple[LtiPlatform,
                                                                                             LtiDeployment]:
    """Switches one deployment of a registered LMS off (launches through it are refused) or on again."""
    accounts.require_admin(admin)
    deployment = db.get(LtiDeployment, deployment_id)
    if deployment is None:
        raise NotFound("No such LTI deployment.")
    platform = db.get(LtiPlatform, deployment.platform_id)
    if (deployment.disabled_at is None) != active:
        deployment.disabled_at = None if active else utcnow()
        db.add(deployment)
        audit.record(db, admin, None, "lti.deployment_on" if active else "lti.deployment_off",
                     f"lti deployment {deployment.id}", {"issuer": platform.issuer, "client_id": platform.client_id,
                                                         "deployment_id": deployment.deployment_id})
    db.commit()
    return platform, deployment


# ---------------------------------------------------------------- PyLTI1p3's view of the registrations

def _tool_conf(db: Session, private_pem: str):
    from pylti1p3.deployment import Deployment
    from pylti1p3.registration import Registration
    from pylti1p3.tool_config.abstract import ToolConfAbstract

    class DatabaseToolConf(ToolConfAbstract):
        """Registrations from the lti_platform and lti_deployment tables (several client ids per issuer)."""

        def check_iss_has_one_client(self, iss):
            return False

        def check_iss_has_many_clients(self, iss):
            return True

        def _platform(self, iss, client_id) -> Optional[LtiPlatform]:
            query = select(LtiPlatform).where(LtiPlatform.issuer == iss)
            if client_id is not None:
                query = query.where(LtiPlatform.client_id == client_id)
            found = db.exec(query.order_by(LtiPlatform.id)).all()
            # Without a client id (some LMSs omit it at login) the issuer must name one registration.
            return found[0] if len(found) == 1 else None

        def find_registration_by_issuer(self, iss, *args, **kwargs):
            return self.find_registration_by_params(iss, None)

        def find_registration_by_params(self, iss, client_id, *args, **kwargs):
            platform = self._platform(iss, client_id)
            if platform is None:
                return None
            if platform.disabled_at is not None:
                raise LaunchRefused(PLATFORM_OFF)
            return (Registration().set_issuer(platform.issuer).set_client_id(platform.client_id)
                    .set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
                    .set_key_set_url(platform.key_set_url).set_tool_private_key(private_pem)
                    .set_tool_public_key(tool_public_key(private_pem)))

        def find_deployment(self, iss, deployment_id):
            return self.find_deployment_by_params(iss, deployment_id, None)

        def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
            platform = self._platform(iss, client_id)
            if platform is None:
                return None
            if platform.disabled_at is not None:
                raise LaunchRefused(PLATFORM_OFF)
            found = db.exec(select(LtiDeployment).where(LtiDeployment.platform_id == platform.id,
                                                        LtiDeployment.deployment_id == deployment_id)).first()
            if found is not None and found.disabled_at is not None:
                raise LaunchRefused(DEPLOYMENT_OFF)
            return Deployment().set_deployment_id(found.deployment_id) if found else None

    return DatabaseToolConf()


def login_redirect(db: Session, private_pem: str, launch_url: str, redis_url: Optional[str] = None):
    """OIDC login initiation (the platform's GET or POST to /lti/login): a redirect to the platform's
    authorisation endpoint carrying a fresh state and nonce, both kept on the server (services/lti_frame.py)."""
    from pylti1p3.exception import LtiException, OIDCException

    try:
        return lti_frame.login(db, _tool_conf(db, private_pem), launch_url, redis_url)
    except (OIDCException, LtiException) as exc:
        raise LaunchRefused(_plain(str(exc))) from None


@dataclass
class Launch:
    user: User
    course: Course
    role: str
    frame_origins: list[str] = field(default_factory=list)  # sites that may frame the tool (lti_frame.py)
    assignment_id: Optional[int] = None  # a resource link made by deep linking: its assignment
    deep_link_id: Optional[str] = None  # a deep-linking request, kept for the instructor's choice


def launch(db: Session, private_pem: str, redis_url: Optional[str] = None) -> Launch:
    """Verifies the platform's id_token (state, nonce, signature against the platform's JWKS, deployment),
    then finds or creates the account by the platform's `sub` and enrolls it in the context's course."""
    from pylti1p3.exception import LtiException

    message = lti_frame.message_launch(db, _tool_conf(db, private_pem), redis_url)
    try:
        data = message.get_launch_data()
        # A nonce and a state are good for one launch: both are removed now, so the same id_token posted
        # again (by this browser or any other) is refused.
        message.spend()
    except LtiException as exc:
        raise LaunchRefused(_plain(str(exc))) from None
    deep_linking = message.is_deep_link_launch()
    if not deep_linking:
        message.forget()  # PyLTI1p3's copy of the launch; only a deep-linking request is read again
    if not (deep_linking or message.is_resource_launch()):
        raise LaunchRefused("This kind of launch is not offered: open the tool from a link in a course, or "
                            "add it with the LMS's “external tool” dialog.")
    platform = db.exec(select(LtiPlatform).where(LtiPlatform.issuer == data["iss"],
                                                 LtiPlatform.client_id == message.get_client_id())).one()
    sub = str(data.get("sub") or "").strip()
    if not sub or len(sub) > 255:
        raise LaunchRefused("The LMS did not say who you are (the launch has no user id); open the tool "
                            "from a course while signed in to the LMS.")
    context = data.get(CONTEXT_CLAIM) or {}
    context_id = str(context.get("id") or "").strip()
    if not context_id or len(context_id) > 255:
        raise LaunchRefused("The LMS did not say which course this launch is from; add the tool to a course "
                            "and open it from there.")
    roles = data.get(ROLE_CLAIM) or []
    role = ROLE_INSTRUCTOR if any(r in INSTRUCTOR_ROLES for r in roles) else ROLE_STUDENT
    if deep_linking and role != ROLE_INSTRUCTOR:
        raise LaunchRefused("Only an instructor of the LMS course can add the classroom's assignments to it.")
    user = _account(db, platform, sub, data, role)
    course = _course(db, platform, context_id, str(context.get("title") or context.get("label") or ""), user, role)
    _enroll(db, user, course, role)
    from . import lti_sync  # grades back and the roster: what this link's launch offers (AGS, NRPS)

    lti_sync.remember_services(db, platform, context_id, course, data, role)
    db.commit()
    return Launch(user=user, course=course, role=role, frame_origins=lti_frame.launch_frame_origins(platform, data),
                  assignment_id=None if deep_linking else lti_deep_linking.linked_assignment(db, course, data),
                  deep_link_id=message.get_launch_id() if deep_linking else None)


def _plain(reason: str) -> str:
    """PyLTI1p3's reason in words for the person in the LMS."""
    lowered = reason.lower()
    if "state" in lowered:
        return ("This launch was already used or has expired (its state is unknown). Open the tool again "
                "from the LMS.")
    if "nonce" in lowered:
        return "This launch was already used (its nonce is unknown here). Open the tool again from the LMS."
    if "deployment" in lowered:
        return "The LMS's deployment of this tool is not registered here. Ask an administrator to register it."
    if "registration" in lowered or "client id" in lowered or "issuer" in lowered:
        return "This LMS is not registered here. Ask an administrator to register it (flask lti-add-platform)."
    if "decode" in lowered or "public key" in lowered or "signature" in lowered:
        return ("The LMS's signature on this launch could not be verified, so it was refused. Open the tool "
                "again from the LMS; if this keeps happening, ask an administrator to check the key set URL.")
    return f"The LMS's launch could not be accepted: {reason}"


def claimed_name(data: dict) -> str:
    """The person's name as the LMS gives it (an id_token or a roster member): `name`, else `given_name`
    and `family_name`; "" when it gives none."""
    name = str(data.get("name") or "").strip()
    if not name:
        name = " ".join(part for part in (str(data.get(k) or "").strip() for k in ("given_name", "family_name"))
                        if part)
    return name[:120]


def _account(db: Session, platform: LtiPlatform, sub: str, data: dict, role: str) -> User:
    found = db.exec(select(LtiAccount).where(LtiAccount.platform_id == platform.id, LtiAccount.sub == sub)).first()
    claimed = claimed_name(data)
    email_claim = str(data.get("email") or "").strip()[:320] or None
    name_claim = claimed or None
    if found is not None:
        if (found.name_claim, found.email_claim) != (name_claim, email_claim):
            found.name_claim, found.email_claim = name_claim, email_claim
            db.add(found)
        user = db.get(User, found.user_id)
        if user.disabled_at is not None:
            raise LaunchRefused("This account is disabled. Ask an administrator.")
        if role == ROLE_INSTRUCTOR and not user.is_instructor:
            user.role = ROLE_INSTRUCTOR
        if claimed and user.name != claimed and accounts.is_placeholder_email(user.email):
            user.name = claimed  # an account made from the LMS follows the LMS's name; a linked one keeps its own
            db.add(user)
        return user
    # Never matched to a local account by e-mail: the LMS's e-mail claim is not proof of owning that account.
    # The address is a placeholder unique to this platform and sub; the account has no password.
    digest = hashlib.sha256(f"{platform.id}:{sub}".encode()).hexdigest()[:24]
    user = User(email=f"lti-{digest}@{LTI_EMAIL_DOMAIN}", name=claimed or f"LMS user {sub[:40]}"[:120],
                password_hash="", role=role)
    db.add(user)
    db.flush()
    db.add(LtiAccount(platform_id=platform.id, sub=sub, user_id=user.id, name_claim=name_claim,
                      email_claim=email_claim))
    db.flush()
    return user


def _course(db: Session, platform: LtiPlatform, context_id: str, title: str, user: User, role: str) -> Course:
    link = db.exec(select(LtiContext).where(LtiContext.platform_id == platform.id,
                                            LtiContext.context_id == context_id)).first()
    if link is not None:
        return db.get(Course, link.course_id)
    if role != ROLE_INSTRUCTOR:
        raise LaunchRefused("Your instructor has not opened this course in the classroom yet. Try again after "
                            "they have.")
    # The first instructor to launch from an LMS course creates its classroom course.
    course = Course(code=courses.generate_code(db), title=(title.strip() or "Course from the LMS")[:200],
                    created_by_id=user.id)
    db.add(course)
    db.flush()
    db.add(LtiContext(platform_id=platform.id, context_id=context_id, course_id=course.id))
    audit.record(db, user, course.id, "course.create", f"course {course.code}",
                 {"title": course.title, "from": "LTI launch"})
    return course


def _enroll(db: Session, user: User, course: Course, role: str) -> None:
    enrollment = courses.enrollment(db, user, course.id)
    if enrollment is None:
        db.add(Enrollment(course_id=course.id, user_id=user.id, role=role))
    elif enrollment.role != role:
        enrollment.role = role  # the LMS's roles claim is the course's truth for this account
