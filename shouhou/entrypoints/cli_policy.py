"""`shouhou policy show|list|check`: the policy packs, every rule's number with its rule ID and source,
and the shared rule IDs a pack declares (its title and the RULES.md rule it is like)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..clock import SystemClock
from ..policies import PolicyPack, PolicyPackError, PolicyRegistry, PolicyVersion, load_pack
from .cli_common import console, fail, load_settings, parse_at, registry

policy_app = typer.Typer(help="Policy packs: every rule's number, with its rule ID and source.",
                         no_args_is_help=True)


def _pack(name: str, policies: PolicyRegistry) -> PolicyPack:
    if name in policies:
        return policies.get(name)
    if Path(name).is_file():
        try:
            return load_pack(name)
        except PolicyPackError as e:
            fail(str(e), 2)
    fail(f"未知的规则包 unknown policy pack {name!r}; known: {', '.join(policies.names())} (or a path to a pack file)", 2)


@policy_app.command("show")
def policy_show(
    name: Annotated[str, typer.Argument(help="Pack name (kuaishou, douyin, …) or a pack file.")],
    version: Annotated[str | None, typer.Option("--version", help="A version of the pack [default: the one in force].")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Show the version in force at this ISO time [default: now].")] = None,
) -> None:
    """A pack's rules: setting, value, rule ID, source and note; then the shared rule IDs the pack
    declares (not in RULES.md): title and the rule each is like."""
    pack = _pack(name, registry(load_settings()))
    if version is not None:
        try:
            pv = pack.version(version)
        except KeyError:
            fail(f"规则包 {pack.name} 没有版本 {version}; versions: {', '.join(v.version for v in pack.versions)}", 2)
    else:
        pv = pack.at(parse_at(at))
    console().print(_rules_table(pack, pv))
    if pack.rule_ids:
        console().print(_declared_table(pack))


def _rules_table(pack: PolicyPack, pv: PolicyVersion) -> Table:
    title = f"{pack.title} ({pack.name}) version {pv.version}, effective from {pv.effective_from.isoformat()}"
    rows = pv.rows()
    table = Table(title=title, caption=pv.summary)
    # Setting and rule ID are what one looks up: never cut; long values and notes wrap instead.
    table.add_column("setting", no_wrap=True, min_width=max(len(r[0]) for r in rows))
    table.add_column("value", max_width=48)
    table.add_column("rule", no_wrap=True, style="bold", min_width=max(len(r[2]) for r in rows))
    table.add_column("source", max_width=24)
    table.add_column("note")
    for setting, value, rule, source, note in rows:
        table.add_row(setting, value, _rule(pack, rule), source, note or "")
    return table


def _rule(pack: PolicyPack, rule: str) -> str:
    """A rule ID as cited; a shared ID the pack declares says which RULES.md rule it is like."""
    declared = pack.declared(rule)
    return f"{rule} (as {', '.join(declared.like)})" if declared else rule


def _declared_table(pack: PolicyPack) -> Table:
    table = Table(title=f"shared rule IDs {pack.name} declares (not in RULES.md)",
                  caption="each applies the RULES.md rule it is like; see the pack file's [rule_ids]")
    table.add_column("rule", no_wrap=True, style="bold")
    table.add_column("as", no_wrap=True)
    table.add_column("title")
    table.add_column("source", max_width=24)
    table.add_column("note")
    for rule, d in pack.rule_ids.items():
        table.add_row(rule, ", ".join(d.like), f"{d.zh}\n{d.en}", d.source, d.note or "")
    return table


@policy_app.command("list")
def policy_list() -> None:
    """The packs this engine knows (built in, plus SHOUHOU_POLICY_PATHS) and their versions."""
    policies = registry(load_settings())
    now = SystemClock().now()
    table = Table(title="policy packs")
    for col in ("name", "title", "versions (effective from)", "in force now", "source"):
        table.add_column(col)
    for name in policies.names():
        pack = policies.get(name)
        versions = ", ".join(f"{v.version} ({v.effective_from.date().isoformat()})" for v in pack.versions)
        table.add_row(pack.name, pack.title, versions, pack.at(now).version, pack.source)
    console().print(table)


@policy_app.command("check")
def policy_check(file: Annotated[Path, typer.Argument(help="A custom policy pack (TOML).")]) -> None:
    """Validate a custom pack file.

    Exit 0 if it loads; 2, naming the field and the reason, if not."""
    try:
        pack = load_pack(file)
    except PolicyPackError as e:
        fail(f"INVALID {e}", 2)
    typer.secho(f"OK {file}: pack {pack.name} ({pack.title}), {len(pack.versions)} version(s): "
                + ", ".join(f"{v.version} from {v.effective_from.isoformat()}" for v in pack.versions),
                fg=typer.colors.GREEN)
    if pack.rule_ids:
        typer.echo("declares " + ", ".join(f"{r} (as {', '.join(d.like)})" for r, d in pack.rule_ids.items()))
