"""Where Lean's files are, and the sandbox that shows Lean only those.

`project_env` asks Lake once, outside the sandbox, for the Lake project's search
paths (`lake env printenv`): Lake writes trace files into the project, which the
sandbox mounts read-only, and the project is the administrator's, not a
student's. Lean then runs directly with that LEAN_PATH.
"""
from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from .bubblewrap import Bubblewrap, NoSandbox
from .sandbox import Jail, PrivateTempDir, clean_env, network_isolation
from .settings import SANDBOX_NONE, LeanSettings

# What Lake's environment gives Lean: where compiled modules and their sources are.
PROJECT_VARIABLES = ("LEAN_PATH", "LEAN_SRC_PATH")
LAKE_TIMEOUT = 120.0


class ProjectError(RuntimeError):
    pass


_lock = threading.Lock()
_project_envs: dict[LeanSettings, dict[str, str] | ProjectError] = {}
_jails: dict[LeanSettings, Jail] = {}


def project_env(settings: LeanSettings) -> dict[str, str]:
    """LEAN_PATH and LEAN_SRC_PATH of LEAN_PROJECT_DIR ({} without one). Raises ProjectError."""
    if not settings.project_dir:
        return {}
    with _lock:
        cached = _project_envs.get(settings)
    if cached is None:
        cached = _ask_lake(settings)
        with _lock:
            _project_envs[settings] = cached
    if isinstance(cached, ProjectError):
        raise cached
    return dict(cached)


def _ask_lake(settings: LeanSettings) -> dict[str, str] | ProjectError:
    lake = list(settings.lake_argv())
    lake[0] = settings.which(lake[0]) or lake[0]
    with PrivateTempDir(prefix="lean-lake-") as home:
        try:
            run = subprocess.run(
                [*lake, "env", "printenv"],
                cwd=settings.project_dir,
                env=clean_env(home, settings.env),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=LAKE_TIMEOUT,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return ProjectError(f"`{lake[0]} env` could not run in LEAN_PROJECT_DIR {settings.project_dir}: {exc}")
    if run.returncode != 0:
        lines = (run.stderr or run.stdout).strip().splitlines()
        detail = lines[-1] if lines else f"exit status {run.returncode}"
        return ProjectError(f"`lake env` failed in LEAN_PROJECT_DIR {settings.project_dir}: {detail} (build the project first)")
    found = {}
    for line in run.stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep and name in PROJECT_VARIABLES and value:
            found[name] = value
    return found


def _root(path: str) -> str:
    """The directory a program belongs to: `<prefix>` for `<prefix>/bin/prog`, else its folder."""
    parent = Path(path).parent
    return str(parent.parent if parent.name == "bin" else parent)


def toolchain_paths(settings: LeanSettings, programs: list[str], extra_env: dict[str, str]) -> list[str]:
    """Read-only paths Lean needs: each program's toolchain (also through symlinks), the
    absolute paths named in the commands, elan's home, the project and its search paths."""
    paths: list[str] = []
    for item in programs:
        if os.path.isabs(item) and os.path.exists(item):
            paths += [_root(item), _root(os.path.realpath(item))] if os.path.isfile(item) else [item]
    env = settings.env
    elan_home = env.get("ELAN_HOME") or (str(Path(env["HOME"]) / ".elan") if env.get("HOME") else "")
    if elan_home and any(p == elan_home or p.startswith(elan_home + os.sep) for p in paths):
        paths.append(elan_home)  # elan's `lean` is a proxy that reads its toolchains there
    if settings.project_dir:
        paths.append(settings.project_dir)
    for name in ("LEAN_PATH", "LEAN_SRC_PATH", "LEAN_SYSROOT"):
        value = extra_env.get(name) or env.get(name)
        if value:
            paths += [p for p in value.split(os.pathsep) if p and os.path.exists(p)]
    paths += [p for p in settings.sandbox_paths if os.path.exists(p)]
    # Drop paths inside another one, keep order.
    unique = list(dict.fromkeys(os.path.normpath(p) for p in paths))
    return [p for p in unique if not any(q != p and p.startswith(q.rstrip(os.sep) + os.sep) for q in unique)]


def command_programs(settings: LeanSettings) -> list[str]:
    """Every word of the configured command that names a file, the program resolved on PATH."""
    argv = list(settings.repl_argv() if settings.backend == "repl" else settings.lean_argv())
    if argv:
        argv[0] = settings.which(argv[0]) or argv[0]
    return argv


def make_jail(settings: LeanSettings) -> Jail:
    """The sandbox for these settings (one per settings value, so it is probed once)."""
    with _lock:
        jail = _jails.get(settings)
    if jail is not None:
        return jail
    if settings.sandbox == SANDBOX_NONE:
        jail = NoSandbox(network_isolation() if settings.isolate_network else [])
    else:
        try:
            extra = project_env(settings)
        except ProjectError:
            extra = {}
        programs = command_programs(settings)
        bwrap = settings.bwrap_cmd or "bwrap"
        jail = Bubblewrap(
            bwrap=settings.which(bwrap) if not os.path.isabs(bwrap) else (bwrap if os.path.exists(bwrap) else None),
            user_setting=settings.sandbox_user,
            read_only=toolchain_paths(settings, programs, extra),
            private_paths=settings.private_paths,
            isolate_network=settings.isolate_network,
            probe_program=programs[0] if programs and os.path.isabs(programs[0]) else None,
            env=clean_env("/tmp", settings.env),
        )
    with _lock:
        return _jails.setdefault(settings, jail)


def forget(settings: LeanSettings | None = None) -> None:
    """Drop cached project paths and sandboxes (tests; a changed installation)."""
    with _lock:
        if settings is None:
            _project_envs.clear()
            _jails.clear()
        else:
            _project_envs.pop(settings, None)
            _jails.pop(settings, None)
