#!/usr/bin/env python3
"""Bootstrap for a fresh machine that has only python3 and pip.

    python3 dev.py serve [--demo] [shouhou serve options]   start the API (SQLite by default)
    python3 dev.py test [pytest options]                    ruff, mypy, lint-imports, then the test suite
    python3 dev.py lock                                     re-pin requirements.lock to the newest versions
    python3 dev.py shouhou COMMAND [options]                any other `shouhou` command

The first run makes ./.venv (`python3 -m venv`) and installs shouhou into it with its test
dependencies at the versions pinned in requirements.lock (`pip install -c requirements.lock -e
'.[test]'`); later runs reinstall only when pyproject.toml or requirements.lock changed (a stamp file
in .venv remembers what was installed). Where the venv module is missing, it falls back to `python3
-m pip install --user`. `test` stops at the first step that fails and exits with its code. Uses only
the standard library.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".shouhou-installed"  # the venv's install stamp
USER_STAMP = VENV / ".shouhou-user-installed"  # no venv module: .venv holds only this stamp
LOCK = ROOT / "requirements.lock"  # pip constraints: the exact versions every install gets
LINT_PATHS = ("shouhou", "tests", "bench")
# lint-imports without relying on where pip put its script (the venv, or ~/.local/bin with --user)
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
USAGE = __doc__.split("\n\n")[1]


def say(message: str) -> None:
    print(f"[dev.py] {message}", file=sys.stderr, flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def fingerprint() -> str:
    """What the installed environment was made from: pyproject.toml, the lock file and this Python."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(LOCK.read_bytes() if LOCK.exists() else b"no lock file")
    digest.update(sys.version.encode())
    return digest.hexdigest()


def works(python: Path | str, *args: str) -> bool:
    return subprocess.run([str(python), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def make_venv() -> bool:
    """./.venv with its own pip; False when this Python cannot make one (no venv/ensurepip module)."""
    python = venv_python()
    if python.exists() and works(python, "-m", "pip", "--version"):
        return True
    if USER_STAMP.exists():  # tried before: this Python has no working venv module
        return False
    if VENV.exists():
        shutil.rmtree(VENV)  # a half-made venv (e.g. made without ensurepip)
    say(f"creating {VENV.name} with {sys.executable} -m venv")
    made = subprocess.run([sys.executable, "-m", "venv", str(VENV)]).returncode == 0
    if made and works(venv_python(), "-m", "pip", "--version"):
        return True
    say("the venv module is not available here: installing with pip install --user instead")
    shutil.rmtree(VENV, ignore_errors=True)
    return False


def pip_install(python: Path | str, user: bool, *, locked: bool = True, upgrade: bool = False) -> None:
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if user and sys.prefix == sys.base_prefix:  # --user means nothing inside a virtualenv
        cmd.append("--user")
    if upgrade:  # every dependency to the newest version pyproject.toml allows, not only shouhou
        cmd += ["--upgrade", "--upgrade-strategy", "eager"]
    if locked and LOCK.exists():
        cmd += ["-c", str(LOCK)]
        what = f"pip install -c {LOCK.name} -e '.[test]'"
    else:
        what = "pip install -e '.[test]'" + (" --upgrade" if upgrade else "")
    package = ["-e", ".[test]"]
    say(f"installing shouhou and its dependencies ({what}); the first time takes a minute")
    result = subprocess.run([*cmd, *package], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0 and user and "externally-managed-environment" in result.stderr:
        say("this Python is managed by the system (PEP 668): retrying with --break-system-packages")
        result = subprocess.run([*cmd, "--break-system-packages", *package], cwd=ROOT,
                                stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        say("pip install failed")
        raise SystemExit(result.returncode)


def python_and_stamp() -> tuple[str, Path]:
    """The Python to install into (the venv's, or this one with --user) and its install stamp."""
    if make_venv():
        return str(venv_python()), STAMP
    return sys.executable, USER_STAMP


def environment() -> str:
    """The Python that has shouhou installed, installing or reinstalling it when needed."""
    python, stamp = python_and_stamp()
    want = fingerprint()
    if not stamp.exists() or stamp.read_text().strip() != want:
        pip_install(python, user=stamp is USER_STAMP)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(want + "\n")
    return python


def lock() -> int:
    """Resolve `.[test]` afresh (newest versions pyproject.toml allows), install that, and pin it in
    requirements.lock. Review the diff and run `dev.py test` before committing it."""
    python, stamp = python_and_stamp()
    pip_install(python, user=stamp is USER_STAMP, locked=False, upgrade=True)
    frozen = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True).stdout
    header = ("# The exact versions of shouhou's dependencies (with the test extra) that every install gets:\n"
              "# dev.py installs with `pip install -c requirements.lock -e '.[test]'`.\n"
              "# Made by `python3 dev.py lock` (pip freeze --exclude-editable); do not edit by hand.\n")
    LOCK.write_text(header + frozen)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint() + "\n")
    say(f"wrote {LOCK.name}: {len(frozen.splitlines())} pinned packages")
    return 0


def run(cmd: list[str]) -> int:
    try:
        return subprocess.run(cmd, cwd=ROOT).returncode
    except KeyboardInterrupt:
        return 130


def shouhou(python: str, args: list[str]) -> int:
    cmd = [python, "-m", "shouhou.entrypoints.cli", *args]
    if os.name == "posix":  # hand the terminal over: Ctrl-C and SIGTERM go straight to the server
        sys.stdout.flush()
        os.chdir(ROOT)
        os.execv(python, cmd)
    return run(cmd)


def test(python: str, args: list[str]) -> int:
    """ruff, mypy, lint-imports, then pytest, in that order; the first that fails stops the run and
    its exit code is the command's."""
    lint = [p for p in LINT_PATHS if (ROOT / p).exists()]
    steps = [
        ("ruff", f"ruff check {' '.join(lint)}", [python, "-m", "ruff", "check", *lint]),
        ("mypy", "mypy shouhou", [python, "-m", "mypy", "shouhou"]),
        ("lint-imports", "lint-imports", [python, "-c", LINT_IMPORTS]),
        ("pytest", " ".join(["python -m pytest", *args]), [python, "-m", "pytest", *args]),
    ]
    for name, title, cmd in steps:
        say(title)
        code = run(cmd)
        if name == "pytest" and code == 5:
            say("pytest ran no tests: that is a failure")
            return 5
        if code != 0:
            say(f"{name} failed (exit {code}): the steps after it did not run")
            return code
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help") or argv[0] not in ("serve", "test", "lock", "shouhou"):
        print(USAGE)
        return 0 if argv and argv[0] in ("-h", "--help", "help") else 2
    command, args = argv[0], argv[1:]
    if command == "lock":
        return lock()
    python = environment()
    if command == "test":
        return test(python, args)
    if command == "serve":
        return shouhou(python, ["serve", *args])
    return shouhou(python, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
