#!/usr/bin/env python3
"""Bootstrap for a fresh machine that has only python3 and pip.

    python3 dev.py serve [--demo] [shouhou serve options]   start the API (SQLite by default)
    python3 dev.py test [pytest options]                    ruff, then the test suite
    python3 dev.py shouhou COMMAND [options]                any other `shouhou` command

The first run makes ./.venv (`python3 -m venv`) and installs shouhou into it with its test
dependencies (`pip install -e '.[test]'`); later runs reinstall only when pyproject.toml changed
(a stamp file in .venv remembers what was installed). Where the venv module is missing, it falls
back to `python3 -m pip install --user`. Uses only the standard library.
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
LINT_PATHS = ("shouhou", "tests", "bench")
USAGE = __doc__.split("\n\n")[1]


def say(message: str) -> None:
    print(f"[dev.py] {message}", file=sys.stderr, flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def fingerprint() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
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


def pip_install(python: Path | str, user: bool) -> None:
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if user and sys.prefix == sys.base_prefix:  # --user means nothing inside a virtualenv
        cmd.append("--user")
    cmd += ["-e", ".[test]"]
    say("installing shouhou and its dependencies (pip install -e '.[test]'); the first time takes a minute")
    result = subprocess.run(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0 and user and "externally-managed-environment" in result.stderr:
        say("this Python is managed by the system (PEP 668): retrying with --break-system-packages")
        result = subprocess.run([*cmd[:-2], "--break-system-packages", *cmd[-2:]], cwd=ROOT,
                                stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        say("pip install failed")
        raise SystemExit(result.returncode)


def environment() -> str:
    """The Python that has shouhou installed, installing or reinstalling it when needed."""
    if make_venv():
        python: str = str(venv_python())
        stamp = STAMP
    else:
        python = sys.executable
        stamp = USER_STAMP
    want = fingerprint()
    if not stamp.exists() or stamp.read_text().strip() != want:
        pip_install(python, user=stamp is USER_STAMP)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(want + "\n")
    return python


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
    """`ruff check` then pytest. Returns pytest's exit code (or ruff's, if only ruff failed)."""
    lint = [p for p in LINT_PATHS if (ROOT / p).exists()]
    say(f"ruff check {' '.join(lint)}")
    ruff = run([python, "-m", "ruff", "check", *lint])
    say(" ".join(["python -m pytest", *args]))
    code = run([python, "-m", "pytest", *args])
    if code == 5:
        say("pytest ran no tests: that is a failure")
        return 5
    if code == 0 and ruff != 0:
        say("the tests passed but ruff found problems")
        return ruff
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help") or argv[0] not in ("serve", "test", "shouhou"):
        print(USAGE)
        return 0 if argv and argv[0] in ("-h", "--help", "help") else 2
    command, args = argv[0], argv[1:]
    python = environment()
    if command == "test":
        return test(python, args)
    if command == "serve":
        return shouhou(python, ["serve", *args])
    return shouhou(python, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
