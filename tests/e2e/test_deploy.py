"""The deploy files (Dockerfile, compose.yaml, deploy/entrypoint.sh) say what the CLI does: no image is
built here (no Docker daemon in the test run), so the test reads them. The compose file runs
PostgreSQL, one migration, two API processes, deadline workers and the dispatcher; every command it
names exists in the CLI with the options it passes; the image runs as a non-root user and migrates
once before the process it starts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from shouhou.entrypoints import cli

ROOT = Path(__file__).resolve().parents[2]
# Being written by another change (issue 14's outbox): compose.yaml already runs it.
PENDING: set[tuple[str, ...]] = set()  # commands named in the deploy files before they exist (none now)


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return doc


def test_compose_runs_the_database_the_api_twice_the_workers_and_the_dispatcher() -> None:
    services = compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    commands = {name: s.get("command") for name, s in services.items()}
    api = [n for n, c in commands.items() if c and c[:2] == ["shouhou", "serve"]]
    assert len(api) == 2, commands
    assert any(c and c[:2] == ["shouhou", "worker"] for c in commands.values())
    assert any(c and c[:2] == ["shouhou", "dispatch"] for c in commands.values())
    for name in (n for n in services if n != "db"):
        env = services[name]["environment"]
        assert env["SHOUHOU_DATABASE_URL"].startswith("postgresql://"), name
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy", name
        if name != "migrate":  # the others start once the one migration has finished
            assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
            assert env["SHOUHOU_SKIP_MIGRATE"] == "1"
    assert services["migrate"]["environment"]["SHOUHOU_SKIP_MIGRATE"] == "0"


def commands_named() -> list[list[str]]:
    """Every shouhou command line the deploy files run."""
    found = [c for s in compose()["services"].values() if (c := s.get("command")) and c[0] == "shouhou"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert cmd, "the Dockerfile names its default command"
    found.append(yaml.safe_load(cmd.group(1)))
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text(encoding="utf-8")
    found += [shlex.split(line.strip()) for line in entrypoint.splitlines() if line.strip().startswith("shouhou ")]
    return found


@pytest.mark.parametrize("line", commands_named(), ids=lambda x: " ".join(x))
def test_every_command_the_deploy_files_run_exists(line: list[str]) -> None:
    words = [w for w in line[1:] if not w.startswith("-")]
    names = tuple(w for w in words if not re.fullmatch(r"[0-9.]+", w))
    if names in PENDING:
        pytest.skip(f"shouhou {' '.join(names)} is not in this branch yet")
    result = CliRunner().invoke(cli.app, [*names, "--help"])
    assert result.exit_code == 0, result.output
    for option in (w.split("=")[0] for w in line[1:] if w.startswith("--")):
        assert option in result.output, f"shouhou {' '.join(names)} has no {option}"


def test_the_image_runs_as_a_non_root_user_and_migrates_once() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "pip install -c requirements.lock ." in dockerfile
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0"), users
    assert re.search(r'^ENTRYPOINT \["shouhou-entrypoint"\]$', dockerfile, re.M)
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text(encoding="utf-8")
    assert "shouhou db upgrade" in entrypoint and entrypoint.rstrip().endswith('exec "$@"')
