"""The packs this engine knows, and the two ways a use case picks a version: the one in force now
(`in_force`) or the one a ticket, order or measure keeps from its start (`kept_by`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol

from .loading import PolicyPack, load_pack
from .model import PolicyVersion

BUILTIN_DIR = Path(__file__).parent


class KeepsPolicy(Protocol):
    """Anything that keeps the pack version it started under (a ticket, an order, a measure)."""

    @property
    def policy(self) -> str: ...

    @property
    def policy_version(self) -> str: ...


class PolicyRegistry:
    """The packs this engine knows: the built-in ones plus any custom pack files."""

    def __init__(self, packs: dict[str, PolicyPack] | None = None) -> None:
        self._packs: dict[str, PolicyPack] = dict(packs or {})

    @classmethod
    def default(cls, extra_paths: list[str] | None = None) -> PolicyRegistry:
        reg = cls()
        for path in sorted(BUILTIN_DIR.glob("*.toml")):
            reg.add(load_pack(path))
        for p in extra_paths or []:
            reg.add(load_pack(p))
        return reg

    def add(self, pack: PolicyPack) -> None:
        self._packs[pack.name] = pack

    def get(self, name: str) -> PolicyPack:
        try:
            return self._packs[name]
        except KeyError:
            raise KeyError(f"unknown policy pack {name!r}; known: {sorted(self._packs)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._packs

    def names(self) -> list[str]:
        return sorted(self._packs)

    def resolve(self, name: str, version: str) -> PolicyVersion:
        """One named version of a pack (`kuaishou@2026.1`)."""
        return self.get(name).version(version)

    def in_force(self, name: str, at: datetime) -> PolicyVersion:
        """The version of pack `name` in force at `at`: what a new ticket, order or evaluation takes."""
        return self.get(name).at(at)

    def kept_by(self, holder: KeepsPolicy) -> PolicyVersion:
        """The version a ticket, order or measure keeps from its start: a newer version never moves a
        running deadline."""
        return self.get(holder.policy).version(holder.policy_version)
