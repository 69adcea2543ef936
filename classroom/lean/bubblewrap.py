"""The sandbox every Lean process runs in: bubblewrap (Debian's `bubblewrap` package).

A proof is untrusted input to a program that can run code (tactics compute, and
a hole in the refusal list would let a proof run its own). So each Lean process
starts inside `bwrap` with:

* its own user: a worker running as root (or holding CAP_SETUID, CAP_SETGID and
  CAP_CHOWN) starts bwrap as LEAN_SANDBOX_USER (default `nobody`); a worker that
  cannot switch users runs it as itself. Either way Lean sees itself as uid 65534
  in a user namespace, with no capabilities, unable to create further namespaces;
* a filesystem holding only the system's /usr (programs and libraries), the Lean
  toolchain and the Lake project, read-only, and one scratch directory per run,
  writable; nothing else of the host: no /home, /root, /etc, /var, no app code
  outside those paths, no instance directory, database file or secret key
  (`check_private_paths` refuses a configuration whose mounts would hold one);
* fresh PID, IPC, UTS, cgroup and network namespaces: no network at all (unless
  LEAN_ISOLATE_NETWORK=0), no Unix sockets of the host, no view of other processes.
  When the run ends, the namespace's init dies and the kernel kills everything
  left in it.

`problem()` probes the whole arrangement once (a run of `test -x <lean>` inside
the same sandbox), so a host where it cannot work says why instead of silently
running Lean unconfined; LEAN_SANDBOX=none is the explicit, loudly reported
alternative (see NoSandbox).
"""
from __future__ import annotations

import os
import pwd
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

INSIDE_ID = "65534"  # uid and gid Lean sees inside the sandbox (the conventional `nobody`)
# The host's programs and shared libraries, read-only. On merged-/usr systems the
# top-level directories are symlinks into /usr and are recreated as symlinks.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What the dynamic loader reads; nothing else of /etc is visible.
LOADER_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d")
PROBE_TIMEOUT = 20.0


@dataclass(frozen=True)
class SandboxUser:
    name: str
    uid: int
    gid: int
    switch: bool  # True: start bwrap as this user (the worker is another one)


def _inside(path: str, parent: str) -> bool:
    try:
        Path(path).relative_to(parent)
        return True
    except ValueError:
        return False


def _real(path: str) -> str:
    return os.path.realpath(path)


def check_private_paths(mounts: Iterable[str], private: Iterable[str]) -> str | None:
    """Why these mounts would expose one of the app's private paths, or None."""
    for secret in private:
        secret_real = _real(secret)
        for mount in mounts:
            mount_real = _real(mount)
            if _inside(secret_real, mount_real) or _inside(mount_real, secret_real):
                return (
                    f"the sandbox would show `{mount}` to Lean, and that holds the app's private `{secret}`; "
                    "install the Lean toolchain and project elsewhere (or move CLASSROOM_INSTANCE_DIR and the database)"
                )
    return None


def resolve_user(setting: str | None) -> tuple[SandboxUser | None, str | None]:
    """The user Lean runs as, or a reason the setting cannot be used."""
    euid, egid = os.geteuid(), os.getegid()
    if setting is None:
        if euid != 0:
            name = pwd.getpwuid(euid).pw_name if _has_uid(euid) else str(euid)
            return SandboxUser(name, euid, egid, switch=False), None
        setting = "nobody"
    try:
        entry = pwd.getpwuid(int(setting)) if setting.isdigit() else pwd.getpwnam(setting)
    except (KeyError, ValueError):
        return None, f"LEAN_SANDBOX_USER names no user on this machine: {setting!r} (create it, e.g. `useradd --system --no-create-home --shell /usr/sbin/nologin classroom-lean`)"
    if entry.pw_uid == 0:
        return None, "LEAN_SANDBOX_USER must not be root: Lean runs as an unprivileged user"
    return SandboxUser(entry.pw_name, entry.pw_uid, entry.pw_gid, switch=entry.pw_uid != euid), None


def _has_uid(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


class Bubblewrap:
    kind = "bubblewrap"

    def __init__(
        self,
        bwrap: str | None,
        user_setting: str | None,
        read_only: Sequence[str],
        private_paths: Sequence[str],
        isolate_network: bool,
        probe_program: str | None,
        env: dict[str, str],
    ) -> None:
        self.bwrap = bwrap
        self.user, self._user_problem = resolve_user(user_setting)
        self.read_only = tuple(dict.fromkeys(p for p in read_only if not self._covered_by_system(p)))
        self.private_paths = tuple(private_paths)
        self.isolate_network = isolate_network
        self.probe_program = probe_program
        self.env = env
        self._lock = threading.Lock()
        self._problem: str | None = None
        self._probed = False

    @staticmethod
    def _covered_by_system(path: str) -> bool:
        return any(_inside(path, root) for root in SYSTEM_PATHS if os.path.isdir(root) and not os.path.islink(root))

    # -------------------------------------------------------------- what a run gets

    def _system_mounts(self) -> list[str]:
        args: list[str] = []
        for path in SYSTEM_PATHS:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for path in LOADER_FILES:
            args += ["--ro-bind-try", path, path]
        return args

    def wrap(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        writable: Sequence[str] = (),
        readable: Sequence[str] = (),
        die_with_parent: bool = True,
    ) -> list[str]:
        """The bwrap command line that runs argv in the sandbox."""
        assert self.bwrap is not None
        args = [self.bwrap, "--unshare-all", "--unshare-user"]
        if not self.isolate_network:
            args.append("--share-net")
        if die_with_parent:
            # One-shot runs only: a long-lived REPL server must not die with the
            # thread that happened to start it (it is killed by process group instead).
            args.append("--die-with-parent")
        args += ["--disable-userns", "--uid", INSIDE_ID, "--gid", INSIDE_ID, "--hostname", "lean", "--cap-drop", "ALL"]
        args += self._system_mounts()
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        for path in [*self.read_only, *readable]:
            args += ["--ro-bind", path, path]
        for path in writable:
            args += ["--bind", path, path]
        args += ["--chdir", cwd, "--", *argv]
        return args

    def popen_kwargs(self) -> dict[str, Any]:
        if self.user is not None and self.user.switch:
            return {"user": self.user.uid, "group": self.user.gid, "extra_groups": []}
        return {}

    def own(self, path: str) -> None:
        """Give a scratch directory to the sandbox's user, so Lean can write there."""
        if self.user is not None and self.user.switch:
            os.chown(path, self.user.uid, self.user.gid)

    def describe(self) -> str:
        who = f"as user {self.user.name} (uid {self.user.uid})" if self.user else "as an unknown user"
        if self.user is not None and not self.user.switch and self.user.uid == os.geteuid():
            who = f"as the worker's own user {self.user.name} (uid {self.user.uid}); see docs/lean.md for a separate user"
        net = "no network" if self.isolate_network else "WITH network (LEAN_ISOLATE_NETWORK=0)"
        return f"bubblewrap sandbox {who}, {net}"

    # -------------------------------------------------------------- can it run here?

    def problem(self) -> str | None:
        with self._lock:
            if not self._probed:
                self._problem = self._find_problem()
                self._probed = True
            return self._problem

    def _find_problem(self) -> str | None:
        if self._user_problem:
            return self._user_problem
        if not self.bwrap:
            return "bubblewrap (`bwrap`) is not installed: `apt-get install bubblewrap`, or set LEAN_BWRAP_CMD"
        clash = check_private_paths([*SYSTEM_PATHS, *self.read_only], self.private_paths)
        if clash:
            return clash
        program = self.probe_program or "/usr/bin/true"
        probe = ["test", "-x", program] if self.probe_program else [program]
        argv = self.wrap(probe, cwd="/")
        try:
            run = subprocess.run(
                argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                timeout=PROBE_TIMEOUT,
                start_new_session=True,
                **self.popen_kwargs(),
            )
        except PermissionError as exc:
            return (
                f"the worker may not start the sandbox as user {self.user.name if self.user else '?'} ({exc}); run the "
                "worker as root or give it CAP_SETUID, CAP_SETGID and CAP_CHOWN, or unset LEAN_SANDBOX_USER"
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bubblewrap could not be started ({exc})"
        if run.returncode != 0:
            detail = run.stderr.decode("utf-8", "replace").strip().splitlines()
            if detail:
                return (
                    f"bubblewrap refused to start here: {detail[-1]} (it needs unprivileged user namespaces: "
                    "see docs/lean.md)"
                )
            return f"the sandbox's user cannot run `{program}`: make the toolchain readable and executable by it"
        return None


class NoSandbox:
    """LEAN_SANDBOX=none: limits only, reported loudly wherever Lean's status is shown."""

    kind = "none"

    def __init__(self, network_prefix: Sequence[str]) -> None:
        self.network_prefix = list(network_prefix)

    def problem(self) -> str | None:
        return None

    def wrap(self, argv: Sequence[str], *, cwd: str, writable: Sequence[str] = (), readable: Sequence[str] = (),
             die_with_parent: bool = True) -> list[str]:
        return [*self.network_prefix, *argv]

    def popen_kwargs(self) -> dict[str, Any]:
        return {}

    def own(self, path: str) -> None:
        pass

    def describe(self) -> str:
        return (
            "NO SANDBOX (LEAN_SANDBOX=none): Lean runs as the worker's user and can read and write what the "
            "worker can, including the database and the secret key"
        )
