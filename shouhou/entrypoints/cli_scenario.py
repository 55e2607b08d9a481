"""`shouhou scenario run`: play scenario files (../shared/SCENARIOS.md) and report, as text or JSON
lines, with exit code 0 (all held), 1 (an expectation failed) or 2 (a file is invalid)."""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Annotated

import typer

from .scenario import run_file
from .scenario_file import ScenarioFileError

scenario_app = typer.Typer(help="Scenario files (../shared/SCENARIOS.md).", no_args_is_help=True)


@scenario_app.command("run")
def scenario_run(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (YAML).", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per event, then a summary line.")] = False,
) -> None:
    """Run scenario files on a virtual clock.

    Exit 0: every expectation held; 1: one failed; 2: a file is invalid (the message names the field
    and the line)."""
    code = 0
    for path in files:
        try:
            outcome = run_file(path)
        except ScenarioFileError as e:
            typer.secho(f"INVALID {e}", err=True, fg=typer.colors.RED)
            code = 2
            continue
        except Exception:  # noqa: BLE001 - an engine error: report it and go on with the next file
            typer.secho(f"ERROR {path}: the engine failed while running it\n{traceback.format_exc()}", err=True,
                        fg=typer.colors.RED)
            if as_json:
                typer.echo(json.dumps({"result": "fail", "expectations": 0, "failed": 1, "error": True}))
            code = max(code, 1)
            continue
        failed = len(outcome.failures)
        if not outcome.passed:
            code = max(code, 1)
        if as_json:
            for event in outcome.events:
                typer.echo(json.dumps(event, ensure_ascii=False, default=str))
            typer.echo(json.dumps({"result": "pass" if outcome.passed else "fail",
                                   "expectations": outcome.expectations, "failed": failed}))
            if failed:
                for failure in outcome.failures:
                    typer.echo(f"FAIL {path}: {failure}", err=True)
            continue
        if outcome.passed:
            typer.secho(f"PASS {path} ({outcome.name}): {outcome.expectations} expectations held",
                        fg=typer.colors.GREEN)
        else:
            typer.secho(f"FAIL {path} ({outcome.name}): {failed} of {outcome.expectations} expectations failed",
                        fg=typer.colors.RED)
            for failure in outcome.failures:
                typer.echo(f"  - {failure}")
    raise typer.Exit(code)
