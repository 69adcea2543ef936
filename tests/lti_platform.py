"""A complete LMS (an LTI 1.3 platform) for tests, on a loopback HTTP server of its own.

It has its own RSA key and serves the public half as a JWKS; signs id_tokens for launches (PyJWT); runs an
OAuth2 client-credentials token endpoint that verifies the tool's signed JWT assertion against the tool's own
JWKS (what `GET /lti/jwks` serves, read through the Flask test client); and serves the LTI Advantage services:

- Assignment and Grade Services: `GET`/`POST <base>/contexts/<context>/lineitems` (list, filterable by
  `resource_link_id`, `tag`, `resource_id`; create), `GET <line item>` and `POST <line item>/scores`, which
  records every score it receives in `scores` (and can be told to fail: `fail_scores(n)`).
- Names and Role Provisioning Services: `GET <base>/contexts/<context>/memberships`, the roster set with
  `set_roster`, paged with a `Link: <...>; rel="next"` header when `page_size` is set.

Every service request must carry a bearer token from the token endpoint with the scope it needs; what was
refused and why is kept in `refusals`. The `lms` fixture (tests/conftest.py) registers one with the app.

The roster's next page is named by `page_param` ("page"; a test may set one with capitals, as some LMSs'
page tokens have: PyLTI1p3 alone lower-cases the `Link` header before reading the next page's address).
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
CLIENT_ID = "classroom-tool"
DEPLOYMENT = "deploy-1"

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_MEMBERSHIP = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = (SCOPE_LINEITEM, SCOPE_LINEITEM_READ, SCOPE_RESULT_READ, SCOPE_SCORE)
ALL_SCOPES = AGS_SCOPES + (SCOPE_MEMBERSHIP,)

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEMBERSHIPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def key(name: str) -> rsa.RSAPrivateKey:
    """An RSA key made once per test run (the platform's, and a stranger's for forged signatures)."""
    if name not in _KEYS:
        _KEYS[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEYS[name]


class FakePlatform:
    """An LMS on loopback. `tool_jwks` returns the tool's JWKS (needed only by the token endpoint)."""

    def __init__(self, tool_jwks: Optional[Callable[[], dict]] = None, *, client_id: str = CLIENT_ID):
        self.key = key("platform")
        self.kid = "platform-key-1"
        self.client_id = client_id
        self.tool_jwks = tool_jwks
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, alg="RS256", use="sig")
        self.jwks_body = json.dumps({"keys": [jwk]}).encode()
        self.jwks_requests = 0
        self.lock = threading.Lock()
        self.tokens: dict[str, set[str]] = {}   # access token -> scopes granted
        self.token_requests: list[dict] = []    # every token request's form, as received
        self.used_jtis: set[str] = set()
        self.refusals: list[str] = []           # why a request was refused (token or service)
        self.line_items: dict[str, dict] = {}   # line item URL -> the line item
        self.scores: list[dict] = []            # every score received: {"lineitem": url, **score}
        self.score_attempts = 0                 # score posts received, including the failed ones
        self._fail_scores: list[int] = []       # statuses for the next score posts
        self.rosters: dict[str, list[dict]] = {}
        self.page_size: Optional[int] = None
        self.page_param = "page"
        self.service_requests: list[tuple[str, str]] = []  # (method, path) of every service request
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.base  # an issuer is a URL; the platform's own address will do
        self.token_url = self.base + "/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ launches

    def id_token(self, nonce, *, sub="lms-user-1", roles=(INSTRUCTOR,), context_id="lms-course-9",
                 deployment=DEPLOYMENT, aud=None, key=None, expires_in=300, resource_link_id="link-1",
                 ags=None, nrps=False, **extra) -> str:
        """A signed launch. `ags`: a dict of AGS claim overrides, or True for the context's default claim;
        `nrps`: True for the context's memberships claim."""
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": aud or self.client_id, "sub": sub, "iat": now, "exp": now + expires_in,
            "nonce": nonce, "name": "Ada Lovelace", "email": "ada@school.test",
            CLAIM + "deployment_id": deployment, CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0", CLAIM + "roles": list(roles),
            CLAIM + "target_link_uri": "http://localhost/lti/launch",
            CLAIM + "resource_link": {"id": resource_link_id, "title": "Critique week"},
            CLAIM + "context": {"id": context_id, "title": "Algebra from the LMS", "label": "ALG"},
        }
        if ags:
            claims[AGS_CLAIM] = self.ags_claim(context_id, **(ags if isinstance(ags, dict) else {}))
        if nrps:
            claims[NRPS_CLAIM] = self.nrps_claim(context_id)
        claims.update(extra)
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def context_url(self, context_id: str) -> str:
        return f"{self.base}/contexts/{quote(context_id, safe='')}"

    def ags_claim(self, context_id: str, *, lineitem: Optional[str] = None, scope=AGS_SCOPES) -> dict:
        claim = {"scope": list(scope), "lineitems": self.context_url(context_id) + "/lineitems"}
        if lineitem:
            claim["lineitem"] = lineitem
        return claim

    def nrps_claim(self, context_id: str) -> dict:
        return {"context_memberships_url": self.context_url(context_id) + "/memberships",
                "service_versions": ["2.0"]}

    # ------------------------------------------------------------ what the tests set and read

    def add_line_item(self, context_id: str, *, label="Critique week", score_maximum=10, resource_link_id=None,
                      tag=None, resource_id=None) -> str:
        """A line item as the LMS makes one for a graded link; returns its URL."""
        with self.lock:
            url = f"{self.context_url(context_id)}/lineitems/{len(self.line_items) + 1}"
            item = {"id": url, "label": label, "scoreMaximum": score_maximum}
            for name, value in (("resourceLinkId", resource_link_id), ("tag", tag), ("resourceId", resource_id)):
                if value is not None:
                    item[name] = value
            self.line_items[url] = item
            return url

    def fail_scores(self, times: int, status: int = 503) -> None:
        """The next `times` score posts are answered with `status` (a 5xx by default); then it recovers."""
        with self.lock:
            self._fail_scores = [status] * times

    def set_roster(self, context_id: str, members: list[dict]) -> None:
        """Members as NRPS returns them: user_id, roles, name, email, status ("Active" if left out)."""
        with self.lock:
            self.rosters[context_id] = [{"status": "Active", **m} for m in members]

    def scores_for(self, lineitem_url: str) -> list[dict]:
        return [s for s in self.scores if s["lineitem"] == lineitem_url]

    # ------------------------------------------------------------ the token endpoint

    def _grant(self, form: dict) -> tuple[int, dict]:
        self.token_requests.append(form)
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return 400, {"error": "invalid_request", "error_description": "client_assertion_type"}
        if self.tool_jwks is None:
            return 500, {"error": "server_error", "error_description": "the platform does not know the tool's keys"}
        assertion = form.get("client_assertion", "")
        try:
            kid = jwt.get_unverified_header(assertion).get("kid")
            keys = [k for k in jwt.PyJWKSet.from_dict(self.tool_jwks()).keys if kid is None or k.key_id == kid]
            if not keys:
                raise jwt.InvalidTokenError(f"no key with kid {kid!r} in the tool's JWKS")
            claims = jwt.decode(assertion, keys[0].key, algorithms=["RS256"], audience=self.token_url,
                                issuer=self.client_id, options={"require": ["exp", "iat", "jti", "sub"]})
        except jwt.PyJWTError as exc:  # a bad signature, audience, expiry; no usable key in the tool's JWKS
            self.refusals.append(f"token: {type(exc).__name__}: {exc}")
            return 401, {"error": "invalid_client", "error_description": str(exc)}
        if claims["sub"] != self.client_id or claims["jti"] in self.used_jtis:
            self.refusals.append("token: wrong sub or a reused jti")
            return 401, {"error": "invalid_client"}
        self.used_jtis.add(claims["jti"])
        granted = set(form.get("scope", "").split()) & set(ALL_SCOPES)
        if not granted:
            return 400, {"error": "invalid_scope"}
        token = uuid.uuid4().hex
        self.tokens[token] = granted
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": " ".join(granted)}

    def _authorised(self, header: str, *needed: str) -> bool:
        token = header[7:] if header.startswith("Bearer ") else ""
        granted = self.tokens.get(token)
        ok = granted is not None and any(scope in granted for scope in needed)
        if not ok:
            self.refusals.append(f"service: no token with {' or '.join(needed)}")
        return ok

    # ------------------------------------------------------------ the services

    def _line_items(self, context_id: str, query: dict) -> list[dict]:
        prefix = self.context_url(context_id) + "/lineitems/"
        items = [dict(i) for url, i in self.line_items.items() if url.startswith(prefix)]
        for param, field in (("resource_link_id", "resourceLinkId"), ("tag", "tag"), ("resource_id", "resourceId")):
            if param in query:
                items = [i for i in items if i.get(field) == query[param]]
        return items

    def _members(self, context_id: str, page: int) -> tuple[dict, Optional[str]]:
        members = self.rosters.get(context_id, [])
        size = self.page_size or max(len(members), 1)
        chunk = members[(page - 1) * size: page * size]
        url = self.context_url(context_id) + "/memberships"
        following = f"{url}?{self.page_param}={page + 1}" if page * size < len(members) else None
        body = {"id": url, "context": {"id": context_id, "title": "Algebra from the LMS"}, "members": chunk}
        return body, following


def _handler(platform: FakePlatform):
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body, content_type="application/json", headers=()):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _route(self):
            """(context id, rest of the path segments, query) for /contexts/<id>/..., else None."""
            parts = urlsplit(self.path)
            segments = parts.path.strip("/").split("/")
            if len(segments) < 3 or segments[0] != "contexts":
                return None
            return unquote(segments[1]), segments[2:], {k: v[0] for k, v in parse_qs(parts.query).items()}

        def do_GET(self):  # noqa: N802
            if self.path == "/jwks":
                platform.jwks_requests += 1
                return self._send(200, platform.jwks_body)
            route = self._route()
            if route is None:
                return self._send(404, {})
            context_id, rest, query = route
            platform.service_requests.append(("GET", self.path))
            auth = self.headers.get("Authorization", "")
            with platform.lock:
                if rest == ["lineitems"]:
                    if not platform._authorised(auth, SCOPE_LINEITEM, SCOPE_LINEITEM_READ):
                        return self._send(401, {"error": "unauthorized"})
                    return self._send(200, platform._line_items(context_id, query), LINEITEMS_TYPE)
                if len(rest) == 2 and rest[0] == "lineitems":
                    item = platform.line_items.get(platform.context_url(context_id) + "/lineitems/" + rest[1])
                    if not platform._authorised(auth, SCOPE_LINEITEM, SCOPE_LINEITEM_READ):
                        return self._send(401, {"error": "unauthorized"})
                    return self._send(200, item, LINEITEM_TYPE) if item else self._send(404, {})
                if rest == ["memberships"]:
                    if not platform._authorised(auth, SCOPE_MEMBERSHIP):
                        return self._send(401, {"error": "unauthorized"})
                    if set(query) - {platform.page_param}:  # e.g. a page token whose case was changed
                        return self._send(400, {"error": f"unknown parameters {sorted(query)}"})
                    body, following = platform._members(context_id, int(query.get(platform.page_param, "1")))
                    links = [("Link", f'<{following}>; rel="next"')] if following else []
                    return self._send(200, body, MEMBERSHIPS_TYPE, links)
            return self._send(404, {})

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            if self.path == "/token":
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                with platform.lock:
                    status, body = platform._grant(form)
                return self._send(status, body)
            route = self._route()
            if route is None:
                return self._send(404, {})
            context_id, rest, _query = route
            platform.service_requests.append(("POST", self.path))
            auth = self.headers.get("Authorization", "")
            with platform.lock:
                if rest == ["lineitems"]:
                    if not platform._authorised(auth, SCOPE_LINEITEM):
                        return self._send(401, {"error": "unauthorized"})
                    item = json.loads(raw)
                    url = f"{platform.context_url(context_id)}/lineitems/{len(platform.line_items) + 1}"
                    item["id"] = url
                    platform.line_items[url] = item
                    return self._send(201, item, LINEITEM_TYPE)
                if len(rest) == 3 and rest[0] == "lineitems" and rest[2] == "scores":
                    url = platform.context_url(context_id) + "/lineitems/" + rest[1]
                    if not platform._authorised(auth, SCOPE_SCORE):
                        return self._send(401, {"error": "unauthorized"})
                    if url not in platform.line_items:
                        return self._send(404, {"error": "no such line item"})
                    if self.headers.get("Content-Type", "").split(";")[0] != SCORE_TYPE:
                        return self._send(415, {"error": f"scores are {SCORE_TYPE}"})
                    platform.score_attempts += 1
                    if platform._fail_scores:
                        return self._send(platform._fail_scores.pop(0), {"error": "the gradebook is busy"})
                    score = json.loads(raw)
                    platform.scores.append({"lineitem": url, **score})
                    return self._send(200, {"resultUrl": f"{url}/results/{score.get('userId')}"})
            return self._send(404, {})

        def log_message(self, *args):
            pass

    return Handler


def cli(app, *args):
    """A command as `flask --app app` runs it: inside an app context."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def register(app, lms: FakePlatform, deployment: str = DEPLOYMENT):
    """`flask lti-add-platform` for this platform; returns the command's result."""
    return cli(app, "lti-add-platform", "--issuer", lms.issuer, "--client-id", lms.client_id,
               "--auth-login-url", lms.base + "/auth", "--auth-token-url", lms.token_url,
               "--key-set-url", lms.base + "/jwks", "--deployment-id", deployment)


def login(client, lms: FakePlatform) -> tuple[str, str]:
    """The platform's login initiation; returns the state and nonce the tool sent to its auth endpoint."""
    resp = client.get("/lti/login", query_string={"iss": lms.issuer, "login_hint": "hint-1",
                                                 "target_link_uri": "http://localhost/lti/launch",
                                                 "client_id": lms.client_id, "lti_message_hint": "msg-1"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == lms.base + "/auth"
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["client_id"] == lms.client_id and params["redirect_uri"] == "http://localhost/lti/launch"
    assert params["response_mode"] == "form_post" and params["lti_message_hint"] == "msg-1"
    return params["state"], params["nonce"]


def launch(client, lms: FakePlatform, **claims):
    """Login initiation then the launch, in `client`; returns the launch's response."""
    state, nonce = login(client, lms)
    return client.post("/lti/launch", data={"state": state, "id_token": lms.id_token(nonce, **claims)})
