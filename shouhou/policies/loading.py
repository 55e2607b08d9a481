"""Reading a pack file: TOML in, a validated PolicyPack out, or a PolicyPackError that names the file,
the field and the reason.

Rule IDs (RULES.md's scheme: KS- Kuaishou, DY- Douyin, GEN- both): a pack that names its platform's
prefix (`rule_prefix = "DY"`) cites only its own rules and GEN- ones. Where it applies a rule RULES.md
gives for the other platform, it declares a shared ID for it under `[rule_ids]`, with the rule it is
like (`"GEN-PI-2" = { zh = …, en = …, like = "KS-PI-2", source = "default" }`), and cites that. A
declared ID is GEN-, and every one is cited by some setting."""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .model import PolicyVersion
from .values import RULE_ID, SHARED_PREFIX, DeclaredRule


class PolicyPackError(ValueError):
    """A pack that does not load: says the file, the field and the reason."""


@dataclass(frozen=True)
class PolicyPack:
    name: str
    title: str
    versions: tuple[PolicyVersion, ...]  # sorted by effective_from
    source: str
    rule_prefix: str | None = None  # the prefix of the platform's own rule IDs in RULES.md (KS, DY)
    rule_ids: Mapping[str, DeclaredRule] = field(default_factory=dict)  # shared IDs RULES.md does not list

    def declared(self, rule: str) -> DeclaredRule | None:
        """What a rule ID this pack declares is (its title and the RULES.md rule it is like), or None
        for a rule of RULES.md."""
        return self.rule_ids.get(rule)

    def at(self, when: datetime) -> PolicyVersion:
        """The version in force at `when` (the first one if `when` predates them all)."""
        chosen = self.versions[0]
        for v in self.versions:
            if v.effective_from <= when:
                chosen = v
        return chosen

    def version(self, version: str) -> PolicyVersion:
        for v in self.versions:
            if v.version == version:
                return v
        raise KeyError(f"pack {self.name} has no version {version}")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """A later version over an earlier one: sections merge key by key; a setting that is restated
    replaces the earlier one whole (its rule ID carries over when not restated)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        old = out.get(k)
        if isinstance(v, dict) and isinstance(old, dict) and "rule" in old:
            out[k] = {"rule": old["rule"], **copy.deepcopy(v)}
        elif isinstance(v, dict) and isinstance(old, dict):
            out[k] = _merge(old, v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_pack(path: str | Path) -> PolicyPack:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise PolicyPackError(f"{path}: no such policy file") from e
    except tomllib.TOMLDecodeError as e:
        raise PolicyPackError(f"{path}: not valid TOML: {e}") from e
    return parse_pack(raw, str(path))


def parse_pack(raw: dict[str, Any], source: str) -> PolicyPack:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise PolicyPackError(f"{source}: field 'name': a pack needs a name")
    versions_raw = raw.get("versions")
    if not isinstance(versions_raw, list) or not versions_raw:
        raise PolicyPackError(f"{source}: field 'versions': a pack needs at least one [[versions]] table")
    merged: dict[str, Any] = {}
    versions: list[PolicyVersion] = []
    # Each version overrides the one in force before it: merge in order of effective date.
    if all(isinstance(v, dict) and isinstance(v.get("effective_from"), datetime) for v in versions_raw):
        versions_raw = sorted(versions_raw, key=lambda v: v["effective_from"])
    for i, vraw in enumerate(versions_raw):
        merged = _merge(merged, vraw)
        try:
            versions.append(PolicyVersion.model_validate(merged))
        except ValidationError as e:
            problems = "; ".join(
                f"versions[{i}].{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            raise PolicyPackError(f"{source}: {problems}") from None
    versions.sort(key=lambda v: v.effective_from)
    seen = set()
    for v in versions:
        if v.version in seen:
            raise PolicyPackError(f"{source}: field 'version': {v.version} appears twice")
        seen.add(v.version)
    prefix = _prefix(raw.get("rule_prefix"), source)
    declared = _declared(raw.get("rule_ids", {}), source)
    _check_citations(versions, prefix, declared, source)
    return PolicyPack(name=name, title=str(raw.get("title", name)), versions=tuple(versions), source=source,
                      rule_prefix=prefix, rule_ids=declared)


def _prefix(raw: Any, source: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not re.fullmatch(r"[A-Z]+", raw) or raw == SHARED_PREFIX:
        raise PolicyPackError(f"{source}: field 'rule_prefix': the prefix of the platform's own rule IDs, "
                              f"such as KS or DY (not {SHARED_PREFIX}), not {raw!r}")
    return raw


def _declared(raw: Any, source: str) -> dict[str, DeclaredRule]:
    """The pack's `[rule_ids]`: shared IDs (GEN-…) RULES.md does not list, each with its title, the
    rule(s) it is like and its source."""
    if not isinstance(raw, dict):
        raise PolicyPackError(f"{source}: field 'rule_ids': a table of ID = {{ zh, en, like, source }}")
    out: dict[str, DeclaredRule] = {}
    for rule, body in raw.items():
        if not RULE_ID.match(rule) or not rule.startswith(f"{SHARED_PREFIX}-"):
            raise PolicyPackError(f"{source}: field 'rule_ids.{rule}': a pack declares shared IDs only, such as "
                                  f"{SHARED_PREFIX}-PI-2; its platform's own come from RULES.md")
        if not isinstance(body, dict):
            raise PolicyPackError(f"{source}: field 'rule_ids.{rule}': a table {{ zh, en, like, source }}")
        try:
            out[rule] = DeclaredRule.model_validate(body)
        except ValidationError as e:
            problems = "; ".join(
                f"rule_ids.{rule}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            raise PolicyPackError(f"{source}: {problems}") from None
        if rule in out[rule].like:
            raise PolicyPackError(f"{source}: field 'rule_ids.{rule}.like': names a rule of RULES.md, not itself")
    return out


def _check_citations(versions: list[PolicyVersion], prefix: str | None, declared: Mapping[str, DeclaredRule],
                     source: str) -> None:
    """Every setting cites a rule of its own platform or a shared one, and every declared ID is cited."""
    cited: set[str] = set()
    for i, v in enumerate(versions):
        for setting, _value, rule, _source, _note in v.rows():
            cited.add(rule)
            if prefix is None or rule.startswith((f"{prefix}-", f"{SHARED_PREFIX}-")):
                continue
            raise PolicyPackError(
                f"{source}: field 'versions[{i}].{setting}.rule': {rule} is not a rule of this pack "
                f"({prefix}- or {SHARED_PREFIX}-); to apply another platform's rule, declare a shared ID "
                f"under [rule_ids] with like = \"{rule}\" and cite that")
    unused = sorted(set(declared) - cited)
    if unused:
        raise PolicyPackError(f"{source}: field 'rule_ids': declared but cited by no setting: {', '.join(unused)}")
