"""Saturated throughput of one route: a closed loop of keep-alive connections, each sending its
next request as soon as the last answer arrived, for a fixed time. Loopback only.

Used by deadline_rush.py for the bare-Flask ceiling and for each route of the app. The load comes
from several processes (one Python process cannot keep a server on another core busy), each
driving its connections with asyncio over raw sockets: no HTTP library in the way, so the client
costs as little CPU as Python allows. It shares the machine with the server; the report says how
much CPU the clients used, so a reader can tell whether they, not the server, were the limit.
"""
from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from typing import Callable, Optional

# A request factory: (connection number, request number) -> (method, path, headers, body or None).
RequestFactory = Callable[[int, int], tuple[str, str, dict, Optional[bytes]]]


@dataclass
class Throughput:
    requests: int  # answered with the expected status within the measured window
    errors: int  # other statuses, broken connections
    seconds: float
    client_cpu_seconds: float
    statuses: dict

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {"requests_per_s": round(self.per_second, 1), "requests": self.requests, "errors": self.errors,
                "seconds": round(self.seconds, 2), "client_cpu_s": round(self.client_cpu_seconds, 2),
                "statuses": self.statuses}


def _encode(host: str, port: int, method: str, path: str, headers: dict, body: Optional[bytes]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, whether the server will close the connection); the body is read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, chunked, close = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def _connection(n: int, host: str, port: int, make: RequestFactory, expect: int, start: float, stop: float,
                      counts: dict) -> None:
    reader = writer = None
    i = 0
    while time.monotonic() < stop:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            method, path, headers, body = make(n, i)
            i += 1
            writer.write(_encode(host, port, method, path, headers, body))
            status, close = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            if time.monotonic() >= start:
                counts["broken"] = counts.get("broken", 0) + 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
            continue
        now = time.monotonic()
        if start <= now < stop:  # the first moments warm the server up and are not counted
            key = "ok" if status == expect else str(status)
            counts[key] = counts.get(key, 0) + 1
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def _process(index: int, connections: int, host: str, port: int, factory_args: tuple, expect: int, start_at: float,
             warmup: float, seconds: float, out) -> None:
    make = _factory(*factory_args)
    counts: dict = {}

    async def main():
        start = start_at + warmup
        await asyncio.gather(*(_connection(index * 1000 + c, host, port, make, expect, start, start + seconds, counts)
                               for c in range(connections)))

    cpu = time.process_time()
    asyncio.run(main())
    out.put((counts, time.process_time() - cpu))


# Factories are named, not passed as functions, so every client process can build its own.
_FACTORIES: dict[str, Callable[..., RequestFactory]] = {}


def factory(name: str):
    def register(fn):
        _FACTORIES[name] = fn
        return fn
    return register


def _factory(name: str, *args) -> RequestFactory:
    return _FACTORIES[name](*args)


@factory("get")
def _get(path: str, tokens: list[str]) -> RequestFactory:
    def make(n: int, i: int):
        headers = {"Authorization": f"Bearer {tokens[(n * 7919 + i) % len(tokens)]}"} if tokens else {}
        return "GET", path, headers, None
    return make


@factory("post_json")
def _post_json(path: str, tokens: list[str], body: dict) -> RequestFactory:
    """POST the same JSON object with each connection's token; a text field's "{n}" becomes a number
    unique to the request, so each saved row can be told apart."""
    import json

    def make(n: int, i: int):
        fields = {k: v.replace("{n}", f"{os.getpid()}-{n}-{i}") if isinstance(v, str) else v for k, v in body.items()}
        headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}", "Content-Type": "application/json"}
        return "POST", path, headers, json.dumps(fields).encode()
    return make


def measure(host: str, port: int, factory_name: str, factory_args: tuple, *, expect: int = 200,
            connections: int = 32, processes: int = 2, seconds: float = 5.0, warmup: float = 1.0) -> Throughput:
    """Requests per second with `connections` keep-alive connections spread over `processes` clients."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.monotonic() + 0.3
    per = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    procs = [ctx.Process(target=_process, args=(i, per[i], host, port, (factory_name, *factory_args), expect,
                                                start_at, warmup, seconds, out), daemon=True)
             for i in range(processes) if per[i]]
    for p in procs:
        p.start()
    totals: dict = {}
    cpu = 0.0
    for _ in procs:
        counts, used = out.get(timeout=seconds + warmup + 120)
        cpu += used
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
    for p in procs:
        p.join(timeout=10)
    ok = totals.pop("ok", 0)
    return Throughput(requests=ok, errors=sum(totals.values()), seconds=seconds, client_cpu_seconds=cpu,
                      statuses=totals)


def cpu_count() -> int:
    return os.cpu_count() or 1
