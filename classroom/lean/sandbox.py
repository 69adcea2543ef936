"""Run an untrusted Lean process with limits, inside the sandbox (see bubblewrap.py).

Every run gets:
* the sandbox: bubblewrap's namespaces, its own unprivileged user and a filesystem
  of only the toolchain, the project and a scratch directory (LEAN_SANDBOX=none
  drops it, loudly; then `unshare -n` still cuts the network where it can);
* a wall-clock timeout; at the limit the whole process group is killed (the child
  starts its own session; killing the sandbox's init ends everything inside it);
* rlimits set in the child before exec: address space (RLIMIT_AS), CPU seconds,
  process/thread count (RLIMIT_NPROC, counted per user: one more reason for a
  dedicated sandbox user), file size (RLIMIT_FSIZE) and no core dumps;
* an environment with only PATH, HOME/TMPDIR (the scratch directory), a UTF-8
  locale and the variables Lean and elan need to find their files;
* stdout and stderr cut at a size limit (the rest is read and discarded).

"Out of memory" is a heuristic, since the kernel does not say why an allocation
failed: a non-zero exit whose stderr mentions running out of memory (Lean's
"out of memory" panic, C++ `std::bad_alloc`, Python's `MemoryError`, "Cannot
allocate memory"), or death by SIGKILL that we did not send (the kernel's or a
cgroup's OOM killer).
"""
from __future__ import annotations

import os
import re
import resource
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    timeout: float = 60.0  # wall-clock seconds
    memory_mb: int = 4096  # RLIMIT_AS; 0 = no limit
    cpu_seconds: float | None = None  # RLIMIT_CPU; None = no limit
    max_processes: int = 512  # RLIMIT_NPROC (counts threads); 0 = no limit
    max_file_mb: int = 64  # RLIMIT_FSIZE
    max_output_bytes: int = 1 * MB  # per stream
    isolate_network: bool = True


@dataclass
class SandboxResult:
    stdout: str
    stderr: str
    returncode: int | None  # negative: killed by that signal
    timed_out: bool = False
    cpu_exceeded: bool = False
    out_of_memory: bool = False
    file_too_large: bool = False
    truncated: bool = False
    duration_ms: int = 0
    network_isolated: bool = False
    start_error: str | None = None  # the command could not be started at all


OOM_PATTERN = re.compile(
    r"out of memory|bad_alloc|MemoryError|Cannot allocate memory|memory exhausted|failed to allocate",
    re.IGNORECASE,
)


def looks_out_of_memory(returncode: int | None, stderr: str, killed_by_us: bool = False) -> bool:
    """The heuristic described in the module docstring."""
    if returncode is None or returncode == 0:
        return False
    if returncode == -signal.SIGKILL and not killed_by_us:
        return True
    return bool(OOM_PATTERN.search(stderr))


# ---------------------------------------------------------------- network isolation

_net_lock = threading.Lock()
_net_prefix: list[str] | None = None


def network_isolation() -> list[str]:
    """The command prefix that removes network access here ([] when none works).

    Probed once per process: `unshare -n` needs CAP_SYS_ADMIN (root), `unshare -rn`
    needs unprivileged user namespaces. Either gives the child a network namespace
    with only a down loopback device.
    """
    global _net_prefix
    with _net_lock:
        if _net_prefix is None:
            _net_prefix = []
            unshare = shutil.which("unshare", path="/usr/bin:/bin:/usr/sbin:/sbin")
            if unshare:
                for flags in (["-n"], ["-r", "-n"]):
                    try:
                        probe = subprocess.run(
                            [unshare, *flags, "true"],
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            timeout=10,
                        )
                    except (OSError, subprocess.SubprocessError):
                        continue
                    if probe.returncode == 0:
                        _net_prefix = [unshare, *flags, "--"]
                        break
        return list(_net_prefix)


# ---------------------------------------------------------------- environment


PASSTHROUGH_ENV = ("LEAN_PATH", "LEAN_SYSROOT", "LEAN_SRC_PATH", "ELAN_TOOLCHAIN", "LAKE_HOME")


def clean_env(home: str, base: Mapping[str, str]) -> dict[str, str]:
    """A minimal environment for Lean: nothing of the server's secrets leaks in.

    `base` is the environment captured by classroom/config.py at start-up."""
    env = {
        "PATH": base.get("PATH") or os.defpath,
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    for name in PASSTHROUGH_ENV:
        if base.get(name):
            env[name] = base[name]
    # elan finds its toolchains under ELAN_HOME (default ~/.elan); HOME changes
    # here, so point it at the real one.
    elan_home = base.get("ELAN_HOME") or (str(Path(base["HOME"]) / ".elan") if base.get("HOME") else "")
    if elan_home and Path(elan_home).is_dir():
        env["ELAN_HOME"] = elan_home
    return env


class Jail(Protocol):
    """What a run needs from a sandbox (bubblewrap.Bubblewrap or bubblewrap.NoSandbox)."""

    kind: str

    def wrap(self, argv: Sequence[str], *, cwd: str, writable: Sequence[str] = (), readable: Sequence[str] = (),
             die_with_parent: bool = True) -> list[str]: ...

    def popen_kwargs(self) -> dict[str, Any]: ...

    def own(self, path: str) -> None: ...

    def problem(self) -> str | None: ...

    def describe(self) -> str: ...


class PrivateTempDir:
    """A fresh 0700 directory, removed on exit; given to the sandbox's user with `jail`."""

    def __init__(self, prefix: str = "lean-check-", jail: "Jail | None" = None) -> None:
        self.path = tempfile.mkdtemp(prefix=prefix)
        if jail is not None:
            jail.own(self.path)

    def __enter__(self) -> str:
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


# ---------------------------------------------------------------- limits in the child


def _lower(kind: int, soft: int, hard: int) -> None:
    # A child may only lower its limits; never try to go above the current hard one.
    _, cur_hard = resource.getrlimit(kind)
    if cur_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, cur_hard), min(hard, cur_hard)
    resource.setrlimit(kind, (soft, hard))


def limits_preexec(limits: Limits, cpu: bool = True) -> Callable[[], None]:
    """A preexec_fn setting the rlimits; it runs in the child between fork and exec."""
    memory = limits.memory_mb * MB if limits.memory_mb > 0 else 0
    cpu_s = int(max(1, round(limits.cpu_seconds))) if (cpu and limits.cpu_seconds) else 0
    nproc = limits.max_processes
    fsize = max(1, limits.max_file_mb) * MB

    def apply() -> None:
        if memory:
            _lower(resource.RLIMIT_AS, memory, memory)
        if cpu_s:
            # SIGXCPU at the soft limit, SIGKILL a little later if it is ignored.
            _lower(resource.RLIMIT_CPU, cpu_s, cpu_s + 2)
        if nproc > 0:
            _lower(resource.RLIMIT_NPROC, nproc, nproc)
        _lower(resource.RLIMIT_FSIZE, fsize, fsize)
        _lower(resource.RLIMIT_CORE, 0, 0)

    return apply


@dataclass(frozen=True)
class Mounts:
    """What one run may see besides the sandbox's fixed read-only paths."""

    writable: tuple[str, ...] = ()
    readable: tuple[str, ...] = ()


def spawn(
    argv: Sequence[str],
    *,
    limits: Limits,
    cwd: str,
    env: Mapping[str, str],
    jail: Jail | None = None,
    mounts: Mounts = Mounts(),
    cpu_limit: bool = True,
    stdin: int | None = subprocess.DEVNULL,
    die_with_parent: bool = True,
) -> tuple[subprocess.Popen, bool]:
    """Start argv with the limits in its own session, in the jail. Returns (process, network isolated)."""
    if not argv or shutil.which(argv[0], path=env.get("PATH")) is None:
        # Behind the sandbox a missing program would only show up as exit status 127.
        raise FileNotFoundError(f"program not found: {argv[0] if argv else '(empty command)'}")
    if jail is None:
        command = [*(network_isolation() if limits.isolate_network else []), *argv]
        isolated = len(command) > len(argv)
        extra: dict[str, Any] = {}
    else:
        command = jail.wrap(argv, cwd=cwd, writable=mounts.writable, readable=mounts.readable,
                            die_with_parent=die_with_parent)
        isolated = limits.isolate_network if jail.kind == "bubblewrap" else len(command) > len(argv)
        extra = jail.popen_kwargs()
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=limits_preexec(limits, cpu=cpu_limit),
        close_fds=True,
        **extra,
    )
    return proc, isolated


def kill_group(proc: subprocess.Popen) -> None:
    """Kill the child's whole process group (its pgid is its pid: start_new_session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _exited(pid: int) -> bool:
    # WNOWAIT: look without reaping, so the pid (our process group id) stays ours
    # until kill_group has swept up any children left behind.
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def run_limited(
    argv: Sequence[str],
    *,
    limits: Limits,
    cwd: str,
    env: Mapping[str, str],
    jail: Jail | None = None,
    mounts: Mounts = Mounts(),
) -> SandboxResult:
    """Run argv to completion (or to the timeout) under the limits, in the jail."""
    start = time.monotonic()
    try:
        proc, isolated = spawn(argv, limits=limits, cwd=cwd, env=env, jail=jail, mounts=mounts)
    except (OSError, subprocess.SubprocessError) as exc:
        return SandboxResult("", "", None, start_error=str(exc), duration_ms=int((time.monotonic() - start) * 1000))

    deadline = start + limits.timeout
    buffers = {"out": bytearray(), "err": bytearray()}
    truncated = False
    timed_out = False
    exited_at: float | None = None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    try:
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline:
                timed_out = not _exited(proc.pid)
                break
            if exited_at is None and _exited(proc.pid):
                exited_at = now
            # Something it left behind may hold the pipes open; don't wait for it.
            if exited_at is not None and now - exited_at > 0.5:
                break
            for key, _ in sel.select(timeout=min(deadline - now, 0.2)):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                buf = buffers[key.data]
                room = limits.max_output_bytes - len(buf)
                if room > 0:
                    buf += data[:room]
                if len(data) > room:
                    truncated = True
        if not timed_out and exited_at is None:
            # Pipes closed; the process is finishing. Give it until the deadline.
            while not _exited(proc.pid):
                if time.monotonic() >= deadline:
                    timed_out = True
                    break
                time.sleep(0.01)
    finally:
        sel.close()
        kill_group(proc)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    returncode = proc.returncode
    stdout = buffers["out"].decode("utf-8", errors="replace")
    stderr = buffers["err"].decode("utf-8", errors="replace")
    cpu_exceeded = returncode == -signal.SIGXCPU
    return SandboxResult(
        stdout=stdout,
        stderr=stderr,
        returncode=returncode,
        timed_out=timed_out,
        cpu_exceeded=cpu_exceeded,
        out_of_memory=not timed_out and not cpu_exceeded and looks_out_of_memory(returncode, stderr),
        # Lean dies of SIGXFSZ; a program ignoring the signal gets EFBIG instead.
        file_too_large=returncode == -signal.SIGXFSZ or (returncode != 0 and "File too large" in stderr),
        truncated=truncated,
        duration_ms=int((time.monotonic() - start) * 1000),
        network_isolated=isolated,
    )
