"""Policy packs and their versions."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PolicyVersionOut(BaseModel):
    version: str
    effective_from: str
    summary: str | None


class PolicyOut(BaseModel):
    name: str
    title: str
    versions: list[PolicyVersionOut]


class PolicyPage(BaseModel):
    items: list[PolicyOut]
    total: int
    limit: int
    offset: int


class PolicyRuleOut(BaseModel):
    setting: str
    value: str
    rule: str
    source: str
    note: str | None
    like: list[str] | None = Field(default=None, description="for a shared ID the pack declares (rule_ids): "
                                                              "the RULES.md rule(s) it applies")


class DeclaredRuleOut(BaseModel):
    """A shared rule ID (GEN-…) the pack declares because RULES.md does not list it."""

    rule: str = Field(examples=["GEN-RR-1"])
    zh: str
    en: str
    like: list[str] = Field(examples=[["KS-RR-1"]])
    source: str
    note: str | None


class PolicyDetailOut(PolicyOut):
    version: str
    effective_from: str
    rule_prefix: str | None = Field(description="the prefix of its platform's own rule IDs (KS, DY)")
    rules: list[PolicyRuleOut]
    rule_ids: list[DeclaredRuleOut]
