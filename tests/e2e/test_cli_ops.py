"""The operator's command line (issue 11, findings 8 and 9): tokens with an expiry, listed and revoked
from the console; demo data only in an empty or demo database; a bad setting as one line; every
default in --help; `db current` that never creates a file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from shouhou.adapters.db import make_engine, migrate
from shouhou.clock import SystemClock
from shouhou.entrypoints import cli, serving
from shouhou.errors import Refusal
from shouhou.policies import PolicyRegistry
from shouhou.services import commands as c
from shouhou.services.access import actor_for_token
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(cli.app, list(args), env=env)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ops.db'}"


@pytest.fixture
def migrated(sqlite_url: str) -> str:
    migrate(sqlite_url)
    return sqlite_url


def authenticate(url: str, token: str) -> object:
    """What actor_for_token makes of the token now: an actor, None, or the Refusal it raises."""
    engine = make_engine(url)
    try:
        app = Shouhou.with_fakes(engine, SystemClock(), PolicyRegistry.default())
        with app.uow(write=False) as uow:
            try:
                return actor_for_token(uow, token)
            except Refusal as e:
                return e
    finally:
        engine.dispose()


def create(url: str, *args: str) -> tuple[str, str]:
    """token create …: the token (stdout) and its id (stderr)."""
    result = invoke("token", "create", *args, "--database-url", url)
    assert result.exit_code == 0, result.output
    token_id = next(w for w in result.stderr.replace("(", " ").replace(":", " ").split() if w.startswith("tok_"))
    return result.stdout.strip(), token_id


# -- token create / list / revoke -------------------------------------------------------------------

def test_token_create_says_the_id_and_when_it_expires(migrated: str) -> None:
    before = SystemClock().now()
    result = invoke("token", "create", "--platform", "platform_cs", "--database-url", migrated)
    assert result.exit_code == 0, result.output
    days = {(before + timedelta(days=90) + timedelta(minutes=m)).date().isoformat() for m in (0, 5)}
    assert any(f"expires {d}T" in result.stderr for d in days), result.stderr  # platform: 90 days by default
    assert any(d in invoke("token", "list", "--database-url", migrated).stdout for d in days)  # and listed
    result = invoke("token", "create", "--platform", "platform_cs", "--expires-in-days", "7",
                    "--database-url", migrated)
    assert result.exit_code == 0, result.output
    assert "tok_" in result.stderr and "expires " in result.stderr
    forever = invoke("token", "create", "--platform", "platform_cs", "--no-expiry", "--database-url", migrated)
    assert forever.exit_code == 0 and "never expires" in forever.stderr
    both = invoke("token", "create", "--platform", "platform_cs", "--no-expiry", "--expires-in-days", "3",
                  "--database-url", migrated)
    assert both.exit_code == 2 and "not both" in both.stderr
    zero = invoke("token", "create", "--platform", "platform_cs", "--expires-in-days", "0", "--database-url", migrated)
    assert zero.exit_code == 2


def test_token_list_shows_working_tokens_and_all_with_all(migrated: str) -> None:
    token, token_id = create(migrated, "--platform", "platform_cs", "--label", "to-revoke")
    _, kept = create(migrated, "--platform", "integration", "--id", "erp", "--label", "kept")
    listing = invoke("token", "list", "--database-url", migrated)
    assert listing.exit_code == 0, listing.output
    assert token_id in listing.stdout and kept in listing.stdout and "2 working token(s)" in listing.stdout
    assert token not in listing.stdout  # never the token itself
    revoked = invoke("token", "revoke", token_id, "--database-url", migrated)
    assert revoked.exit_code == 0, revoked.output
    assert f"{token_id}: revoked at " in revoked.stdout
    after = invoke("token", "list", "--database-url", migrated).stdout
    assert token_id not in after and kept in after
    every = invoke("token", "list", "--all", "--database-url", migrated).stdout
    assert token_id in every and "revoked 20" in every and "2 token(s)" in every
    only = invoke("token", "list", "--all", "--kind", "platform", "--actor", "erp", "--database-url", migrated).stdout
    assert kept in only and token_id not in only


def test_a_token_revoked_from_the_console_stops_authenticating(migrated: str) -> None:
    token, token_id = create(migrated, "--platform", "platform_cs")
    assert authenticate(migrated, token) is not None and not isinstance(authenticate(migrated, token), Refusal)
    assert invoke("token", "revoke", token_id, "--database-url", migrated).exit_code == 0
    refused = authenticate(migrated, token)
    assert isinstance(refused, Refusal) and refused.code == "unauthenticated" and refused.message_en == "token revoked"
    again = invoke("token", "revoke", token_id, "--database-url", migrated)
    assert again.exit_code == 0  # idempotent
    unknown = invoke("token", "revoke", "tok_nope", "--database-url", migrated)
    assert unknown.exit_code == 1 and "not_found" in unknown.stderr


# -- serve --demo only into an empty database or a demo ---------------------------------------------

@pytest.fixture
def no_uvicorn(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    fake: Callable[..., None] = lambda app, **kw: calls.append({"app": app, **kw})  # noqa: E731
    monkeypatch.setattr(serving.uvicorn, "run", fake)
    return calls


def test_serve_demo_refuses_a_database_with_real_shops(migrated: str, no_uvicorn: list[dict[str, Any]]) -> None:
    engine = make_engine(migrated)
    try:
        real = Shouhou.with_fakes(engine, SystemClock(), PolicyRegistry.default())
        real.handle(c.CreateShop("acme", "Acme 旗舰店", "kuaishou"), PLATFORM)
    finally:
        engine.dispose()
    result = invoke("serve", "--demo", "--database-url", migrated)
    assert result.exit_code == 2, result.output
    assert "refusing --demo" in result.stderr and "not a demo database" in result.stderr
    assert "Traceback" not in result.output and no_uvicorn == []
    assert authenticate(migrated, "demo-platform") is None  # nothing was loaded
    engine = make_engine(migrated)
    try:
        with Shouhou.with_fakes(engine, SystemClock(), PolicyRegistry.default()).uow(write=False) as uow:
            assert [s.id for s in uow.shops.where()] == ["acme"]
    finally:
        engine.dispose()


def test_serve_demo_loads_into_an_empty_database_and_keeps_a_demo(
    sqlite_url: str, no_uvicorn: list[dict[str, Any]],
) -> None:
    first = invoke("serve", "--demo", "--database-url", sqlite_url)
    assert first.exit_code == 0 and "demo data: loaded" in first.stdout, first.output
    again = invoke("serve", "--demo", "--database-url", sqlite_url)
    assert again.exit_code == 0 and "already there" in again.stdout
    assert len(no_uvicorn) == 2


# -- a bad setting: one line naming the variable, exit 2, for every command ---------------------------

COMMANDS_READING_SETTINGS = (
    ("serve",), ("worker", "--once"), ("db", "upgrade"), ("db", "current"), ("token", "create", "--buyer", "B1"),
    ("token", "list"), ("token", "revoke", "tok_x"), ("governance", "report"), ("policy", "list"),
    ("policy", "show", "kuaishou"),
)
BAD_SETTINGS = {
    "SHOUHOU_POLICY_PATHS": "/etc/shouhou/pack.toml",  # not a JSON list: pydantic-settings' own SettingsError
    "SHOUHOU_FAKE_CHANNEL_FAIL_BUYERS": "[B1",
    "SHOUHOU_WORKER_BATCH": "lots",
    "SHOUHOU_WORKER_INTERVAL": "0",
    "SHOUHOU_DATABASE_URL": "mysql://root@localhost/x",
}


@pytest.mark.parametrize("variable", sorted(BAD_SETTINGS))
@pytest.mark.parametrize("command", COMMANDS_READING_SETTINGS, ids=" ".join)
def test_a_bad_setting_is_one_line_naming_the_variable_and_exit_2(
    command: tuple[str, ...], variable: str, tmp_path: Path, no_uvicorn: list[dict[str, Any]],
) -> None:
    env = {"SHOUHOU_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", variable: BAD_SETTINGS[variable]}
    result = invoke(*command, env=env)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("配置有误 configuration error: ") and variable in line, line
    assert no_uvicorn == [] and not (tmp_path / "x.db").exists()


def test_a_bad_list_item_names_the_variable_and_the_item(tmp_path: Path) -> None:
    result = invoke("policy", "list", env={"SHOUHOU_POLICY_PATHS": '["a.toml", 7]'})
    assert result.exit_code == 2
    assert "SHOUHOU_POLICY_PATHS (item 1)" in result.stderr and "SHOUHOU_POLICY_PATHS_1" not in result.stderr


def test_a_bad_database_url_option_is_named_as_the_option(no_uvicorn: list[dict[str, Any]]) -> None:
    result = invoke("db", "current", "--database-url", "mysql://root:secret@localhost/x")
    assert result.exit_code == 2 and "--database-url" in result.stderr and "secret" not in result.stderr


# -- every default shows in --help --------------------------------------------------------------------

def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under the group (Typer brings its own copy of click: duck typing)."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


ALL_COMMANDS = sorted(_commands(typer.main.get_command(cli.app)), key=lambda x: x[0])


def test_every_command_is_checked() -> None:
    names = {" ".join(path) for path, _ in ALL_COMMANDS}
    assert {"serve", "worker", "db upgrade", "db current", "db revision", "token create", "token list",
            "token revoke", "policy show", "policy list", "policy check", "governance report",
            "scenario run"} <= names


@pytest.mark.parametrize("path, command", ALL_COMMANDS, ids=[" ".join(p) for p, _ in ALL_COMMANDS])
def test_every_option_and_its_default_shows_in_help(path: tuple[str, ...], command: Any) -> None:
    """Rich read `[default: …]` in a help text as markup and dropped it (--interval, --batch,
    --database-url, --version, --at, --id): each option's whole help text, and its default where it
    has one, must be in the output."""
    result = invoke(*path, "--help", env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    options = [p for p in command.params if p.param_type_name == "option" and not p.hidden]
    following = [f" {p.opts[0]} " for p in options[1:]] + [" --help "] if options else []
    for param, next_one in zip(options, following, strict=True):
        if param.help:
            assert " ".join(param.help.split()) in shown, (param.name, param.help)
        has_default = param.default is not None and not (param.is_flag and param.default is False)
        if has_default and param.show_default is not False:
            own = shown.split(f" {param.opts[0]} ", 1)[1].split(next_one, 1)[0]  # this option's lines
            assert "[default: " in own, (param.name, param.default, own)


# -- db current never creates a database ---------------------------------------------------------------

def test_db_current_on_a_missing_sqlite_file_says_so_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "missing.db"
    for args in (("--database-url", f"sqlite:///{path}"), ("--check", "--database-url", f"sqlite:///{path}")):
        result = invoke("db", "current", *args)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == f"数据库不存在 no database at {path}"
        assert not path.exists() and not path.parent.exists()
    tmp_path.joinpath("cwd").mkdir()
    result = invoke("db", "current", env={"SHOUHOU_DATABASE_URL": f"sqlite:///{tmp_path / 'cwd' / 'none.db'}"})
    assert result.exit_code == 2 and list(tmp_path.joinpath("cwd").iterdir()) == []


@pytest.mark.parametrize("command", [("worker", "--once"), ("token", "list"), ("token", "revoke", "tok_x"),
                                     ("token", "create", "--buyer", "B1"), ("governance", "report")], ids=" ".join)
def test_commands_that_need_a_migrated_database_create_no_file_either(command: tuple[str, ...],
                                                                       tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    result = invoke(*command, "--database-url", f"sqlite:///{path}")
    assert result.exit_code == 2, result.output
    assert f"no database at {path}: run `shouhou db upgrade` first" in result.stderr and not path.exists()


def test_db_current_still_reads_an_empty_or_migrated_file(tmp_path: Path, migrated: str) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    result = invoke("db", "current", "--database-url", f"sqlite:///{empty}")
    assert result.exit_code == 0 and "(empty database)" in result.stdout
    check = invoke("db", "current", "--check", "--database-url", f"sqlite:///{empty}")
    assert check.exit_code == 1 and "run `shouhou db upgrade`" in check.stdout
    assert invoke("db", "current", "--check", "--database-url", migrated).stdout.strip().endswith("(head)")
