"""Reading a pack file: TOML in, a validated PolicyPack out, or a PolicyPackError that names the file,
the field and the reason."""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .model import PolicyVersion


class PolicyPackError(ValueError):
    """A pack that does not load: says the file, the field and the reason."""


@dataclass(frozen=True)
class PolicyPack:
    name: str
    title: str
    versions: tuple[PolicyVersion, ...]  # sorted by effective_from
    source: str

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
    return PolicyPack(name=name, title=str(raw.get("title", name)), versions=tuple(versions), source=source)
