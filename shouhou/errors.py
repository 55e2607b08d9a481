"""Refusals: every command the engine declines says why, in Chinese and English, naming rule IDs."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Literal, TypeVar, get_args

Code = Literal["invalid_state", "forbidden", "ineligible", "limit_reached", "invalid_input", "not_found",
               "unauthenticated",
               # what only the HTTP edge says: a request it cannot take, before any command runs
               "bad_request", "method_not_allowed", "payload_too_large", "rate_limited", "internal_error",
               "conflict"]  # a request with the same Idempotency-Key still running
CODES: tuple[Code, ...] = get_args(Code)
T = TypeVar("T")


@dataclass(frozen=True)
class Reason:
    """One failed condition: the rule it comes from and what it says in both languages."""

    rule: str | None
    zh: str
    en: str


@dataclass
class Refusal(Exception):
    """A command refused. Raised before anything is written; the transaction rolls back."""

    code: Code
    reasons: list[Reason] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown refusal code {self.code}")
        super().__init__(self.message_en)

    @property
    def rules(self) -> list[str]:
        seen: list[str] = []
        for r in self.reasons:
            if r.rule and r.rule not in seen:
                seen.append(r.rule)
        return seen

    @property
    def message_zh(self) -> str:
        return ";".join(r.zh for r in self.reasons)

    @property
    def message_en(self) -> str:
        return "; ".join(r.en for r in self.reasons)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "rules": self.rules,
        }


def refuse(code: Code, zh: str, en: str, rule: str | None = None) -> Refusal:
    return Refusal(code, [Reason(rule, zh, en)])


def not_found(what: str, ident: str) -> Refusal:
    zh_what = {"order": "订单", "ticket": "售后单", "shop": "店铺", "buyer": "买家", "staff": "员工"}.get(what, what)
    return refuse("not_found", f"{zh_what} {ident} 不存在", f"{what} {ident} not found")


class BrokenInvariant(RuntimeError):
    """Stored data contradicts itself (a ticket whose order is gone): a bug or a damaged database,
    never the caller's fault. Unlike `assert`, it is raised under `python -O` too."""


def present(value: T | None, what: str) -> T:
    """`value`, which the data's own references promise exists; BrokenInvariant when it does not."""
    if value is None:
        raise BrokenInvariant(f"{what} is missing")
    return value


def describe(exc: BaseException) -> str:
    """An exception as one line for an operator (its type and message, no traceback)."""
    return "".join(traceback.format_exception_only(exc)).strip()
