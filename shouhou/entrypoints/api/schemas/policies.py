"""Policy packs and their versions."""

from __future__ import annotations

from pydantic import BaseModel


class PolicyVersionOut(BaseModel):
    version: str
    effective_from: str
    summary: str | None


class PolicyOut(BaseModel):
    name: str
    title: str
    versions: list[PolicyVersionOut]


class PolicyRuleOut(BaseModel):
    setting: str
    value: str
    rule: str
    source: str
    note: str | None


class PolicyDetailOut(PolicyOut):
    version: str
    effective_from: str
    rules: list[PolicyRuleOut]
