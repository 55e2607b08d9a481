"""Policy packs: every number of RULES.md as versioned data, validated on load.

A pack is a TOML file with a list of versions. Each version names the date it takes
effect and overrides the values of the version before it (the first version is
complete). A ticket keeps the version in force when it opened (RULES §11).

The parts: `values` (a setting with its rule ID: Span, Flag, ...; DeclaredRule, a shared rule ID a
pack declares because RULES.md does not list it), `model` (a PolicyVersion, section by section),
`governance` (RULES §9's metrics, score and measures), `loading` (TOML to PolicyPack, and which rule
IDs a pack may cite) and `registry` (the packs this engine knows). Import the names from here.
"""

from __future__ import annotations

from .fast_lanes import FastLane, FastLaneRules
from .governance import MEASURES, METRICS, GovernanceRules, Level, Measure, ScoreFormula, ScoreTerm
from .loading import PolicyPack, PolicyPackError, load_pack, parse_pack
from .model import (
    REASONS,
    ROLES,
    ApplyRules,
    EntryRules,
    ExchangeRules,
    FreightRules,
    InterventionRules,
    MoneyRules,
    OrderRules,
    PolicyVersion,
    RefundOnlyRules,
    RejectionRules,
    RemedyRules,
    ReturnRefundRules,
)
from .registry import BUILTIN_DIR, KeepsPolicy, PolicyRegistry
from .values import (
    RULE_ID,
    SHARED_PREFIX,
    SOURCES,
    SPAN_MAX,
    Choice,
    DateFloor,
    DeclaredRule,
    Flag,
    Limit,
    Money,
    Setting,
    Span,
    WorkingDays,
)

__all__ = [
    "BUILTIN_DIR", "MEASURES", "METRICS", "REASONS", "ROLES", "RULE_ID", "SHARED_PREFIX", "SOURCES", "SPAN_MAX",
    "ApplyRules", "Choice", "DateFloor", "DeclaredRule", "EntryRules", "ExchangeRules", "FastLane", "FastLaneRules",
    "Flag", "FreightRules",
    "GovernanceRules", "InterventionRules", "KeepsPolicy", "Level", "Limit", "Measure", "Money", "MoneyRules",
    "OrderRules", "PolicyPack", "PolicyPackError", "PolicyRegistry", "PolicyVersion", "RefundOnlyRules",
    "RejectionRules", "RemedyRules",
    "ReturnRefundRules", "ScoreFormula", "ScoreTerm", "Setting", "Span", "WorkingDays",
    "load_pack", "parse_pack",
]
