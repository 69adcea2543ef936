"""The one OpenAI-compatible chat client every model role uses.

What it does for its callers, so no role has to:
- retries timeouts, connection errors, 408/409/429 and 5xx with exponential backoff and jitter
  (a Retry-After header is honoured), and reports the last failure in words a teacher can act on;
- asks for structured output (a JSON schema) and, when an endpoint answers 400/422 to that,
  falls back to JSON mode, then to plain instructions, and remembers the fallback (likewise it
  stops sending a temperature to models that accept only their default);
- `ask_json`: parses the reply as one strict JSON object, runs the role's validator, and on a
  ReplyInvalid shows the model its reply and what is wrong with it, once;
- counts tokens and measures latency per call, and keeps running totals per client;
- `stream`: yields the reply's text as it arrives (for conversations), with the same retries
  until the first piece of text has arrived.

No Flask and no database here: settings come in as a ModelSettings, results go out as values.
"""
from __future__ import annotations

import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, Optional, TypeVar

import openai

T = TypeVar("T")

# A reply longer than this is not what any role asks for; refuse it rather than parse it.
MAX_REPLY_CHARS = 20_000

RETRY_PROMPT = """\
Your previous reply could not be used: {error}
Reply again with only the JSON object described in the instructions, with every key present."""

_RETRYABLE_STATUS = (408, 409, 429)
_HINTS = {401: " - check OPENAI_API_KEY", 403: " - check OPENAI_API_KEY and its permissions"}


@dataclass(frozen=True)
class ModelSettings:
    """Where a model is and how patiently to ask it (read and validated in classroom/config.py)."""
    model: str
    base_url: Optional[str] = None
    api_key: Optional[str] = None
    timeout: float = 60.0
    max_attempts: int = 4
    backoff_base: float = 1.0
    # The setting that names the model, for messages that tell an administrator what to fix.
    model_variable: str = "GRADER_MODEL"


class ReplyInvalid(ValueError):
    """A reply is not the JSON object a role asked for; the message says why (and goes back to the model)."""


class ModelError(Exception):
    """No usable reply; `reason` is one sentence a teacher or administrator can act on."""

    def __init__(self, reason: str, *, retryable: bool = False, raw_reply: str = "",
                 attempts: int = 0, status_code: Optional[int] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.raw_reply = raw_reply
        self.attempts = attempts
        self.status_code = status_code


@dataclass
class Completion:
    """One answered request: the text, its tokens, how long it took and how many HTTP tries."""
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int = 0
    attempts: int = 1
    finish_reason: Optional[str] = None


@dataclass(kw_only=True)
class Provenance:
    """Who answered and at what cost: kept with every stored model decision."""
    model_name: str = ""
    prompt_version: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int = 0
    raw_reply: str = ""


@dataclass
class JsonReply(Generic[T]):
    """A validated JSON reply: the validator's result, the raw text it came from, the cost."""
    value: T
    text: str
    tokens_in: int
    tokens_out: int
    latency_ms: int
    rounds: int  # 2 when the first reply was sent back with its validation error

    def provenance(self, model_name: str, prompt_version: str) -> dict:
        """Provenance fields of this reply, as keyword arguments."""
        return dict(model_name=model_name, prompt_version=prompt_version, tokens_in=self.tokens_in,
                    tokens_out=self.tokens_out, latency_ms=self.latency_ms, raw_reply=self.text)


@dataclass
class Usage:
    """Running totals of one client, across threads."""
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, tokens_in: int = 0, tokens_out: int = 0, failed: bool = False) -> None:
        with self._lock:
            self.requests += 1
            self.tokens_in += tokens_in
            self.tokens_out += tokens_out
            self.failures += int(failed)


# --------------------------------------------------------------------------- strict JSON

def _no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ReplyInvalid(f'the key "{k}" appears twice')
        seen[k] = v
    return seen


def _strip_code_fence(text: str) -> str:
    m = re.fullmatch(r"\s*```(?:json)?\s*\n?(.*?)\n?\s*```\s*", text, flags=re.DOTALL | re.IGNORECASE)
    return m.group(1) if m else text


def parse_json_object(text: Any, max_chars: int = MAX_REPLY_CHARS) -> dict:
    """A model's reply as one strict JSON object (no duplicate keys, no NaN), or ReplyInvalid.

    A Markdown code fence around the object is tolerated; anything else around it is not."""
    if not isinstance(text, str) or not text.strip():
        raise ReplyInvalid("the reply was empty")
    if len(text) > max_chars:
        raise ReplyInvalid(f"the reply is longer than {max_chars} characters")
    body = _strip_code_fence(text.strip())

    def _reject_constant(name):  # NaN and Infinity are not JSON numbers
        raise ReplyInvalid(f"the reply contains {name}, which is not a JSON number")

    try:
        obj = json.loads(body, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ReplyInvalid(f"the reply is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ReplyInvalid(f"the reply must be a JSON object, got {type(obj).__name__}")
    return obj


# --------------------------------------------------------------------------- the client

def _error_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    msg = None
    if isinstance(body, dict):
        err = body.get("error", body)
        msg = err.get("message") if isinstance(err, dict) else str(err)
    if not msg:
        msg = getattr(exc, "message", "") or str(exc)
    return " ".join(str(msg).split())[:200]


def _retry_after(exc: Exception) -> Optional[float]:
    try:
        value = float(exc.response.headers.get("retry-after", ""))  # type: ignore[attr-defined]
    except (TypeError, ValueError, AttributeError):
        return None
    return value if 0 <= value <= 60 else None


class _Attempt:
    """What went wrong with the last try, for the final message."""

    def __init__(self) -> None:
        self.reason = ""
        self.status: Optional[int] = None
        self.error: Optional[Exception] = None


class ChatClient:
    """Chat completions against one endpoint and model. Thread-safe; share one per settings
    (see `client_for`) so every thread benefits from what was learnt about the endpoint."""

    _FORMAT_MODES = ("json_schema", "json_object", "plain")

    def __init__(self, settings: ModelSettings, label: str = "model") -> None:
        self.settings = settings
        self.label = label  # "grader" -> "the grader model timed out ..."
        self.usage = Usage()
        self._client = openai.OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key or "not-needed",  # local servers need no key; the client needs a string
            timeout=settings.timeout,
            max_retries=0,  # retries are ours: counted, backed off and reported
        )
        # Learnt from 400/422 answers and shared by all threads: a downgrade happens once.
        self._format_mode = "json_schema"
        self._send_temperature = True
        self._stream_usage = True

    @property
    def format_mode(self) -> str:
        return self._format_mode

    # -- one request with retries -----------------------------------------------------------

    def _request_kwargs(self, mode: Optional[str], schema: Optional[dict], schema_name: str,
                        temperature: Optional[float]) -> dict:
        kwargs: dict = {}
        if temperature is not None and self._send_temperature:
            kwargs["temperature"] = temperature
        if mode == "json_schema" and schema is not None:
            kwargs["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": schema_name, "strict": True, "schema": schema}}
        elif mode in ("json_schema", "json_object"):
            kwargs["response_format"] = {"type": "json_object"}
        return kwargs

    def _downgrade(self, exc: openai.APIStatusError, mode: Optional[str]) -> bool:
        """After a 400/422, drop what the endpoint may not support. False if nothing is left to drop."""
        detail = _error_detail(exc).lower()
        if self._send_temperature and "temperature" in detail:
            self._send_temperature = False  # some reasoning models accept only their default
            return True
        if mode is not None and mode != "plain":
            nxt = self._FORMAT_MODES[self._FORMAT_MODES.index(mode) + 1]
            if self._format_mode == mode:
                self._format_mode = nxt
            return True
        return False

    def _backoff(self, attempt: int, exc: Optional[Exception]) -> None:
        delay = self.settings.backoff_base * (2 ** (attempt - 1))
        delay *= 0.5 + random.random() / 2  # jitter: spread the retries of parallel workers
        hinted = _retry_after(exc) if isinstance(exc, openai.APIStatusError) else None
        if hinted is not None:
            delay = max(delay, hinted)
        if delay > 0:
            time.sleep(delay)

    def _classify(self, exc: Exception, attempt: int, last: _Attempt) -> None:
        """Record a retryable failure in `last`, or raise ModelError for one that is not worth retrying."""
        s = self.settings
        last.error = exc
        last.status = None
        if isinstance(exc, openai.APITimeoutError):
            last.reason = f"the {self.label} model timed out after {attempt} attempts ({s.timeout:g} s each)"
        elif isinstance(exc, openai.APIConnectionError):
            where = s.base_url or "the default OpenAI endpoint"
            last.reason = (f"could not connect to the {self.label} endpoint {where} after {attempt} attempts: "
                           f"{getattr(exc, 'message', exc)}")
        elif isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status in _RETRYABLE_STATUS or status >= 500:
                last.reason = (f"the {self.label} endpoint answered {status} ({_error_detail(exc)}) "
                               f"after {attempt} attempts")
                last.status = status
            else:
                hint = _HINTS.get(status, f" - check OPENAI_BASE_URL and {s.model_variable}" if status == 404 else "")
                self.usage.add(failed=True)
                raise ModelError(f"the {self.label} endpoint answered {status} ({_error_detail(exc)}){hint}",
                                 retryable=False, attempts=attempt, status_code=status) from exc
        else:  # pragma: no cover - only the openai errors above are passed in
            raise exc

    def _with_retries(self, call: Callable[[Optional[str]], Any], *, json_mode: bool) -> tuple[Any, int]:
        """Run `call(format_mode)` until it returns, retrying what is worth retrying. (result, attempts)."""
        attempts = self.settings.max_attempts
        attempt = downgrades = 0
        last = _Attempt()
        while attempt < attempts:
            attempt += 1
            mode = self._format_mode if json_mode else None
            try:
                return call(mode), attempt
            except openai.APIStatusError as exc:
                if exc.status_code in (400, 422) and downgrades < 4 and self._downgrade(exc, mode):
                    downgrades += 1
                    attempt -= 1  # a feature probe, not a failed attempt
                    continue
                self._classify(exc, attempt, last)
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                self._classify(exc, attempt, last)
            except _NotACompletion as exc:
                last.reason = (f"the {self.label} endpoint did not answer with a chat completion "
                               f"({exc}) after {attempt} attempts")
                last.status, last.error = None, None
            if attempt < attempts:
                self._backoff(attempt, last.error)
        self.usage.add(failed=True)
        raise ModelError(last.reason, retryable=True, attempts=attempt, status_code=last.status)

    def complete(self, messages: list[dict], *, schema: Optional[dict] = None, schema_name: str = "reply",
                 json_mode: bool = False, temperature: Optional[float] = None) -> Completion:
        """One chat completion. With `json_mode` (or a `schema`) a JSON object is asked for, with the
        fallbacks described above. Raises ModelError when no completion could be had."""
        started = time.monotonic()
        json_mode = json_mode or schema is not None

        def call(mode: Optional[str]):
            resp = self._client.chat.completions.create(
                model=self.settings.model, messages=messages,
                **self._request_kwargs(mode, schema, schema_name, temperature))
            if isinstance(resp, str) or not getattr(resp, "choices", None):
                # A proxy's HTML page or an empty completion: worth another try.
                raise _NotACompletion(" ".join(str(resp).split())[:120] if isinstance(resp, str) else "no choices")
            return resp

        resp, attempts = self._with_retries(call, json_mode=json_mode)
        choice = resp.choices[0]
        usage = resp.usage
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0) if usage else 0
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0) if usage else 0
        self.usage.add(tokens_in, tokens_out)
        # A refusal has no content: a validator reports it as empty, and the model is asked again.
        return Completion(text=choice.message.content or "", tokens_in=tokens_in, tokens_out=tokens_out,
                          latency_ms=_ms_since(started), attempts=attempts,
                          finish_reason=getattr(choice, "finish_reason", None))

    def ask_json(self, messages: list[dict], validate: Callable[[str], T], *, schema: Optional[dict] = None,
                 schema_name: str = "reply", temperature: Optional[float] = 0, what: str = "the model's reply",
                 echo_chars: int = MAX_REPLY_CHARS) -> JsonReply[T]:
        """Ask for a JSON object and validate it with `validate(text)` (which raises ReplyInvalid).

        An invalid reply is shown back to the model once, with what is wrong with it; a second
        invalid reply raises ModelError carrying that reply."""
        started = time.monotonic()
        tokens_in = tokens_out = 0
        for round_no in (1, 2):
            done = self.complete(messages, schema=schema, schema_name=schema_name, json_mode=True,
                                 temperature=temperature)
            tokens_in += done.tokens_in
            tokens_out += done.tokens_out
            try:
                value = validate(done.text)
            except ReplyInvalid as exc:
                if round_no == 2:
                    raise ModelError(f"{what} was invalid twice: {exc}", retryable=False,
                                     raw_reply=done.text) from exc
                messages = messages + [
                    {"role": "assistant", "content": done.text[:echo_chars]},
                    {"role": "user", "content": RETRY_PROMPT.format(error=exc)},
                ]
                continue
            return JsonReply(value=value, text=done.text, tokens_in=tokens_in, tokens_out=tokens_out,
                             latency_ms=_ms_since(started), rounds=round_no)
        raise AssertionError("unreachable")

    def stream(self, messages: list[dict], *, temperature: Optional[float] = None) -> "TextStream":
        """The reply's text piece by piece: `for piece in client.stream(...)`, then `.completion`.

        Failures before the first piece are retried like `complete`; a connection lost in the
        middle raises ModelError (what arrived so far is in its raw_reply)."""
        return TextStream(self, messages, temperature)

    def _open_stream(self, messages: list[dict], temperature: Optional[float]):
        def call(_mode):
            kwargs = self._request_kwargs(None, None, "", temperature)
            if self._stream_usage:
                kwargs["stream_options"] = {"include_usage": True}
            try:
                stream = self._client.chat.completions.create(
                    model=self.settings.model, messages=messages, stream=True, **kwargs)
            except openai.APIStatusError as exc:
                if exc.status_code in (400, 422) and self._stream_usage and "stream_options" in _error_detail(exc):
                    self._stream_usage = False  # an older server: count tokens without its help
                    return call(_mode)
                raise
            iterator = iter(stream)
            try:
                first = next(iterator)
            except StopIteration:
                first = None
            return stream, iterator, first

        return self._with_retries(call, json_mode=False)


class TextStream:
    """Iterates over text pieces; afterwards `completion` holds the whole text and its cost."""

    def __init__(self, client: ChatClient, messages: list[dict], temperature: Optional[float]) -> None:
        self._client, self._messages, self._temperature = client, messages, temperature
        self.completion: Optional[Completion] = None

    def __iter__(self) -> Iterator[str]:
        started = time.monotonic()
        (stream, iterator, first), attempts = self._client._open_stream(self._messages, self._temperature)
        parts: list[str] = []
        tokens_in = tokens_out = 0
        finish = None
        chunk = first
        try:
            while chunk is not None:
                usage = getattr(chunk, "usage", None)
                if usage:
                    tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
                    tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
                for choice in getattr(chunk, "choices", None) or []:
                    piece = getattr(choice.delta, "content", None) if choice.delta else None
                    finish = getattr(choice, "finish_reason", None) or finish
                    if piece:
                        parts.append(piece)
                        yield piece
                chunk = next(iterator, None)
        except Exception as exc:  # noqa: BLE001 - the HTTP library's own errors surface mid-stream
            self._client.usage.add(failed=True)
            raise ModelError(f"the {self._client.label} model's reply broke off: {getattr(exc, 'message', exc)}",
                             retryable=True, raw_reply="".join(parts), attempts=attempts) from exc
        else:
            if finish is None:  # the events stopped without saying why: the connection was lost
                self._client.usage.add(failed=True)
                raise ModelError(f"the {self._client.label} model's reply broke off after {len(''.join(parts))} "
                                 "characters", retryable=True, raw_reply="".join(parts), attempts=attempts)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        text = "".join(parts)
        if not tokens_out and text:  # the server did not count: a rough figure beats none
            tokens_out = max(1, len(text) // 4)
        self._client.usage.add(tokens_in, tokens_out)
        self.completion = Completion(text=text, tokens_in=tokens_in, tokens_out=tokens_out,
                                     latency_ms=_ms_since(started), attempts=attempts, finish_reason=finish)


class _NotACompletion(Exception):
    """The endpoint answered 200 with something that is not a chat completion."""


def _ms_since(started: float) -> int:
    return int(round((time.monotonic() - started) * 1000))


_clients: dict[tuple[ModelSettings, str], ChatClient] = {}
_clients_lock = threading.Lock()
_MAX_CLIENTS = 64


def client_for(settings: ModelSettings, label: str = "model") -> ChatClient:
    """The shared client for these settings: it remembers what the endpoint accepts."""
    key = (settings, label)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if len(_clients) >= _MAX_CLIENTS:  # settings rarely change; tests make many
                _clients.pop(next(iter(_clients)))
            client = _clients[key] = ChatClient(settings, label)
        return client
