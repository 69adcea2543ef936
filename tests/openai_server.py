"""A fake OpenAI-compatible chat-completions server on loopback, for tests.

The real `openai` client talks to it over HTTP, so retries, timeouts, status
codes and response_format handling are exercised exactly as in production.

Behaviour per request, first match wins:
1. `rejected_formats`: a request whose response_format type is listed gets 400,
   like an endpoint that does not support structured output.
2. the script queue (`server.script([...])`), one item per request, in arrival order;
3. the `responder` callback (default: one fixed, valid grading verdict).

Items: Reply (a 200 completion whose message content is given), Status (an error
status with an OpenAI-style error body), Raw (any body, any content type) and
Sleep (wait, then answer with `then` or with the responder). A responder may
return an item, a dict (sent as the JSON content) or a str (sent as content).

A request with "stream": true gets the Reply as server-sent events, a few characters per
chunk, with a usage chunk when stream_options.include_usage asks for one (servers that
refuse stream_options are imitated by `reject_stream_options`). `Reply(break_after=N)`
drops the connection after N characters, like a server that dies mid-reply; `Reply(chunk_delay=s)`
waits s seconds between chunks, like a model writing slowly.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

DEFAULT_VERDICT = {
    "location_correct": True,
    "explanation_verdict": "correct",
    "explanation_score": 1.0,
    "correction_verdict": "absent",
    "correction_score": 0.0,
    "feedback": "You found the first wrong step and explained it clearly.",
    "flags": [],
}


@dataclass
class Reply:
    content: Optional[str] = None
    json: Any = None
    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    finish_reason: str = "stop"
    break_after: Optional[int] = None  # streaming only: drop the connection after this many characters
    chunk_delay: float = 0.0  # streaming only: seconds between chunks, like a model writing slowly


@dataclass
class Status:
    code: int
    message: str = ""
    headers: dict = field(default_factory=dict)


@dataclass
class Raw:
    body: str
    status: int = 200
    content_type: str = "application/json"


@dataclass
class Sleep:
    seconds: float
    then: Any = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict  # names in lower case
    body: Any
    received_at: float

    @property
    def messages(self) -> list[dict]:
        return list((self.body or {}).get("messages") or [])

    @property
    def response_format(self) -> Optional[dict]:
        return (self.body or {}).get("response_format")

    @property
    def format_type(self) -> Optional[str]:
        rf = self.response_format
        return rf.get("type") if isinstance(rf, dict) else None

    def contents(self, role: Optional[str] = None) -> list[str]:
        out = []
        for m in self.messages:
            if role is None or m.get("role") == role:
                c = m.get("content")
                if isinstance(c, list):  # content parts
                    c = "".join(p.get("text", "") for p in c if isinstance(p, dict))
                out.append(c or "")
        return out

    @property
    def text(self) -> str:
        return "\n".join(self.contents())


def _rough_tokens(text: str) -> int:
    return max(1, len(text) // 4)


class FakeOpenAIServer:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.responder: Callable[[RecordedRequest], Any] = lambda req: dict(DEFAULT_VERDICT)
        self.rejected_formats: set[str] = set()
        self.delay: float = 0.0  # added to every chat request
        self.reject_stream_options = False
        self.max_in_flight = 0
        self._in_flight = 0
        self._queue: deque = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # -- control ---------------------------------------------------------------
    def script(self, items) -> None:
        with self._lock:
            self._queue.extend(items)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.max_in_flight = 0
        self.responder = lambda req: dict(DEFAULT_VERDICT)
        self.rejected_formats = set()
        self.delay = 0.0
        self.reject_stream_options = False

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> "FakeOpenAIServer":
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # sleeping handlers must not hold up shutdown
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- request handling --------------------------------------------------------
    def _next_item(self, req: RecordedRequest) -> Any:
        if self.reject_stream_options and "stream_options" in (req.body or {}):
            return Status(400, "Unrecognized request argument supplied: stream_options")
        if req.format_type in self.rejected_formats:
            return Status(400, f"response_format type '{req.format_type}' is not supported by this server")
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.responder(req)

    def _resolve(self, item: Any, req: RecordedRequest) -> Any:
        # Follow Sleep chains until something that can be sent.
        while True:
            if isinstance(item, Sleep):
                self._stopping.wait(item.seconds)
                item = item.then if item.then is not None else self.responder(req)
                continue
            if isinstance(item, dict):
                return Reply(json=item)
            if isinstance(item, str):
                return Reply(content=item)
            return item

    def _completion(self, reply: Reply, req: RecordedRequest) -> dict:
        content = reply.content if reply.content is not None else json.dumps(reply.json)
        prompt_tokens = reply.prompt_tokens if reply.prompt_tokens is not None else _rough_tokens(req.text)
        completion_tokens = (reply.completion_tokens if reply.completion_tokens is not None
                             else _rough_tokens(content))
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": (req.body or {}).get("model", "unknown"),
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": reply.finish_reason,
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep test output clean
        pass

    def _send(self, status: int, body: str, content_type: str = "application/json", headers=None) -> None:
        data = body.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to tell it

    def _stream(self, completion: dict, reply: Reply, include_usage: bool) -> None:
        """The completion as server-sent events, then the connection closes (no length needed)."""
        content = completion["choices"][0]["message"]["content"]
        base = {k: completion[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}

        def event(choices, **extra) -> bytes:
            return f"data: {json.dumps(base | {'choices': choices} | extra)}\n\n".encode()

        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(event([{"index": 0, "delta": {"role": "assistant", "content": ""},
                                     "finish_reason": None}]))
            for start in range(0, len(content), 7):
                if reply.break_after is not None and start >= reply.break_after:
                    self.wfile.flush()
                    self.connection.shutdown(2)  # the server died mid-reply
                    return
                self.wfile.write(event([{"index": 0, "delta": {"content": content[start:start + 7]},
                                         "finish_reason": None}]))
                self.wfile.flush()
                if reply.chunk_delay:
                    self.owner._stopping.wait(reply.chunk_delay)
            self.wfile.write(event([{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]))
            if include_usage:
                self.wfile.write(event([], usage=completion["usage"]))
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass

    def _error(self, status: int, message: str, headers=None) -> None:
        kind = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}
        body = {"error": {"message": message or f"status {status}", "type": kind.get(status, "server_error"),
                          "param": None, "code": None}}
        self._send(status, json.dumps(body), headers=headers)

    def do_GET(self):
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, json.dumps({"object": "list", "data": [
                {"id": "fake-grader", "object": "model", "created": 0, "owned_by": "tests"}]}))
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self):
        owner = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        req = RecordedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                              time.monotonic())
        with owner._lock:
            owner.requests.append(req)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._error(404, f"no route {self.path}")
            return
        if not isinstance(body, dict) or "messages" not in body:
            self._error(400, "request body must be a JSON object with messages")
            return
        with owner._lock:
            owner._in_flight += 1
            owner.max_in_flight = max(owner.max_in_flight, owner._in_flight)
        try:
            if owner.delay:
                owner._stopping.wait(owner.delay)
            item = owner._resolve(owner._next_item(req), req)
            if isinstance(item, Status):
                self._error(item.code, item.message, item.headers)
            elif isinstance(item, Raw):
                self._send(item.status, item.body, item.content_type)
            elif isinstance(item, Reply) and body.get("stream"):
                self._stream(owner._completion(item, req), item, bool((body.get("stream_options") or {})
                                                                        .get("include_usage")))
            elif isinstance(item, Reply):
                self._send(200, json.dumps(owner._completion(item, req)))
            else:
                self._error(500, f"test server cannot send {item!r}")
        finally:
            with owner._lock:
                owner._in_flight -= 1
