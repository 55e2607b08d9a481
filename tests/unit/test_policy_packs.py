"""Policy packs (RULES §11 and every number of RULES.md as data): the built-in packs load and cite
only rules that exist; a bad pack is refused naming the field; versions override only what they name
and are picked by effective date."""

from __future__ import annotations

import copy
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shouhou.clock import SHANGHAI
from shouhou.policies import BUILTIN_DIR, PolicyPackError, PolicyRegistry, load_pack, parse_pack

from .test_aftersales import RULE_IDS, rules_of

V2_FROM = datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI)


def builtin(name: str) -> dict[str, Any]:
    return tomllib.loads((BUILTIN_DIR / f"{name}.toml").read_text("utf-8"))


def with_v2(raw: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    """The pack plus a second version, effective V2_FROM, that overrides only `sections`."""
    out = copy.deepcopy(raw)
    out["versions"].append({"version": "v2", "effective_from": V2_FROM, **sections})
    return out


def test_both_builtin_packs_load() -> None:
    reg = PolicyRegistry.default()
    assert {"kuaishou", "douyin"} <= set(reg.names())
    ks, dy = reg.get("kuaishou").at(V2_FROM), reg.get("douyin").at(V2_FROM)
    assert ks.refund_only.review_before_shipment.delta == timedelta(hours=24)
    assert dy.refund_only.review_before_shipment.delta == timedelta(hours=48)
    assert (ks.order.auto_confirm.delta, dy.order.auto_confirm.delta) == (timedelta(days=10), timedelta(days=15))
    assert (ks.return_refund.buyer_ships.delta, dy.return_refund.buyer_ships.delta) == (
        timedelta(days=10), timedelta(days=7))
    assert ks.apply.max_in_period is None
    assert dy.apply.max_in_period is not None and dy.apply.max_in_period.value == 5
    assert (ks.rejection.shop_may_reprocess.enabled, dy.rejection.shop_may_reprocess.enabled) == (False, True)
    assert ks.rejection.intervention_window is None
    assert dy.rejection.intervention_window is not None
    assert dy.rejection.intervention_window.delta == timedelta(hours=48)


@pytest.mark.parametrize("name", ["kuaishou", "douyin"])
def test_every_rule_id_cited_in_the_packs_is_in_RULES_md_or_declared_by_the_pack(name: str) -> None:
    """A pack cites RULES.md's rules of its own platform (its prefix) and GEN- ones, or the shared IDs
    it declares itself: never the other platform's."""
    pack = PolicyRegistry.default().get(name)
    cited = {rule for v in pack.versions for _setting, _value, rule, _source, _note in v.rows()}
    assert len(cited) >= 10
    assert pack.rule_prefix == {"kuaishou": "KS", "douyin": "DY"}[name]
    in_rules = {r for r in cited if r in RULE_IDS}
    assert all(r.startswith((f"{pack.rule_prefix}-", "GEN-")) for r in in_rules), sorted(in_rules)
    assert cited - in_rules <= set(pack.rule_ids), (
        f"{name} cites rules neither RULES.md defines nor the pack declares: {sorted(cited - in_rules - set(pack.rule_ids))}")
    assert cited <= rules_of(name)


@pytest.mark.parametrize("name", ["kuaishou", "douyin"])
def test_declared_rule_ids_are_new_shared_ids_like_a_rule_of_RULES_md(name: str) -> None:
    """A declared ID is GEN-, not one RULES.md defines (RULES.md would win, with another meaning), and
    says which RULES.md rule it generalises; by the packs' convention it keeps that rule's area and
    number (GEN-PI-2 is like KS-PI-2), which is the other platform's."""
    pack = PolicyRegistry.default().get(name)
    assert pack.rule_ids, f"{name} declares no shared IDs"
    for rule, d in pack.rule_ids.items():
        assert rule.startswith("GEN-") and rule not in RULE_IDS, f"{name} declares {rule}, which RULES.md defines"
        assert set(d.like) <= RULE_IDS, (rule, d.like)
        assert not any(x.startswith(f"{pack.rule_prefix}-") for x in d.like), (rule, d.like)
        assert rule == "GEN-" + d.like[0].split("-", 1)[1], f"{rule} should keep the area and number of {d.like[0]}"
        assert d.zh and d.en and d.source.startswith(("seed", "public", "default")), rule


def test_a_shared_id_declared_by_two_packs_means_the_same_rule() -> None:
    reg = PolicyRegistry.default()
    seen: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name in reg.names():
        for rule, d in reg.get(name).rule_ids.items():
            if rule in seen:
                assert seen[rule][1] == d.like, f"{rule}: {seen[rule][0]} says like {seen[rule][1]}, {name} {d.like}"
            seen[rule] = (name, d.like)


def test_the_packs_cite_the_shared_ids_where_they_borrow_the_other_platforms_rules() -> None:
    """The review found the Douyin pack citing Kuaishou seeds and the Kuaishou pack emitting Douyin IDs."""
    reg = PolicyRegistry.default()
    dy, ks = reg.get("douyin").versions[0], reg.get("kuaishou").versions[0]
    assert (dy.return_refund.review.rule, dy.intervention.response.rule, dy.intervention.ruling.rule) == (
        "GEN-RR-1", "GEN-PI-1", "GEN-PI-2")
    assert (dy.governance.exit_waiting.rule, dy.governance.overdue_record.rule) == ("GEN-EXIT-1", "GEN-GOV-1")
    assert (ks.entry.buyer_requests.rule, ks.entry.notify_buyer.rule, ks.money.waterfall.rule) == (
        "GEN-OP-6", "GEN-OP-10", "GEN-OP-9")
    assert ks.rejection.shop_may_reprocess.rule == "KS-RR-4"  # off on Kuaishou: its rejection rule says what follows
    gen_rr_1 = reg.get("douyin").declared("GEN-RR-1")
    assert gen_rr_1 is not None and gen_rr_1.like == ("KS-RR-1",) and "48 h" in gen_rr_1.en
    assert reg.get("douyin").declared("DY-RR-1") is None  # RULES.md's own: nothing declared


@pytest.mark.parametrize("name", ["kuaishou", "douyin"])
def test_every_setting_of_the_packs_says_where_it_comes_from(name: str) -> None:
    pack = PolicyRegistry.default().get(name)
    for v in pack.versions:
        for setting, _value, _rule, source, _note in v.rows():
            assert source.startswith(("seed", "public", "default")), (setting, source)


def _drop(path: tuple[str, ...]) -> Any:
    def edit(v: dict[str, Any]) -> None:
        *parents, last = path
        for p in parents:
            v = v[p]
        del v[last]
    return edit


def _set(path: tuple[str, ...], value: Any) -> Any:
    def edit(v: dict[str, Any]) -> None:
        *parents, last = path
        for p in parents:
            v = v[p]
        v[last] = value
    return edit


BAD_VERSIONS = {
    "unknown_key": (_set(("apply", "bogus"), {"enabled": True, "rule": "GEN-APPLY-1"}), "versions[0].apply.bogus"),
    "unknown_section": (_set(("exchange",), {}), "versions[0].exchange"),
    "negative_hours": (_set(("return_refund", "review", "hours"), -1), "versions[0].return_refund.review.hours"),
    "zero_length": (_set(("return_refund", "review", "hours"), 0), "versions[0].return_refund.review"),
    "missing_section": (_drop(("governance",)), "versions[0].governance"),
    "missing_setting": (_drop(("order", "completion")), "versions[0].order.completion"),
    "bad_rule_id": (_set(("return_refund", "review", "rule"), "KS_RR_1"), "versions[0].return_refund.review.rule"),
    "rule_id_without_number": (_set(("order", "completion", "rule"), "GEN-ORD"), "versions[0].order.completion.rule"),
    "unknown_reason": (_set(("apply", "evidence_required", "value"), ["quality", "bored"]),
                       "versions[0].apply.evidence_required"),
    "negative_limit": (_set(("apply", "max_in_period", "value"), -5), "versions[0].apply.max_in_period.value"),
    "naive_effective_from": (_set(("effective_from",), datetime(2024, 1, 1)), "versions[0].effective_from"),
    "span_of_centuries": (_set(("return_refund", "buyer_ships", "days"), 100_000_000),
                          "versions[0].return_refund.buyer_ships"),
}


@pytest.mark.parametrize("case", sorted(BAD_VERSIONS))
def test_bad_pack_fails_with_PolicyPackError_naming_the_field(case: str) -> None:
    edit, field = BAD_VERSIONS[case]
    raw = builtin("douyin")
    edit(raw["versions"][0])
    with pytest.raises(PolicyPackError) as info:
        parse_pack(raw, "bad.toml")
    assert str(info.value).startswith("bad.toml: ")
    assert field in str(info.value)


BAD_RULE_IDS = {
    "cites_the_other_platform": (
        lambda raw: raw["versions"][0]["return_refund"]["review"].update(rule="KS-RR-1"),
        r"versions\[0\]\.return_refund\.review\.rule': KS-RR-1 is not a rule of this pack \(DY- or GEN-\)"),
    "declares_a_platform_id": (
        lambda raw: raw["rule_ids"].update({"DY-RR-9": {"zh": "x", "en": "x", "like": "KS-RR-1"}}),
        r"rule_ids\.DY-RR-9': a pack declares shared IDs only"),
    "declares_an_unused_id": (
        lambda raw: raw["rule_ids"].update({"GEN-RR-2": {"zh": "x", "en": "x", "like": "KS-RR-2"}}),
        r"'rule_ids': declared but cited by no setting: GEN-RR-2"),
    "declared_without_like": (
        lambda raw: raw["rule_ids"]["GEN-RR-1"].pop("like"), r"rule_ids\.GEN-RR-1\.like"),
    "declared_like_not_a_rule_id": (
        lambda raw: raw["rule_ids"]["GEN-RR-1"].update(like="KS RR 1"), r"rule_ids\.GEN-RR-1\.like"),
    "declared_without_title": (
        lambda raw: raw["rule_ids"]["GEN-RR-1"].pop("en"), r"rule_ids\.GEN-RR-1\.en"),
    "declared_source_untagged": (
        lambda raw: raw["rule_ids"]["GEN-RR-1"].update(source="the internet"), r"rule_ids\.GEN-RR-1\.source"),
    "declared_like_itself": (
        lambda raw: raw["rule_ids"]["GEN-RR-1"].update(like="GEN-RR-1"), r"rule_ids\.GEN-RR-1\.like"),
    "prefix_is_GEN": (lambda raw: raw.update(rule_prefix="GEN"), r"'rule_prefix'"),
    "rule_ids_not_a_table": (lambda raw: raw.update(rule_ids=["GEN-RR-1"]), r"'rule_ids'"),
}


@pytest.mark.parametrize("case", sorted(BAD_RULE_IDS))
def test_a_pack_cites_only_its_own_shared_or_declared_rule_ids(case: str) -> None:
    edit, message = BAD_RULE_IDS[case]
    raw = builtin("douyin")
    edit(raw)
    with pytest.raises(PolicyPackError, match=message) as info:
        parse_pack(raw, "bad.toml")
    assert str(info.value).startswith("bad.toml: ")


def test_a_later_version_citing_the_other_platform_is_refused_by_its_index() -> None:
    raw = with_v2(builtin("kuaishou"), money={"waterfall": {"value": ["deposit", "advance"], "rule": "DY-OP-9"}})
    with pytest.raises(PolicyPackError, match=r"versions\[1\]\.money\.waterfall\.rule': DY-OP-9"):
        parse_pack(raw, "bad.toml")


def test_a_pack_without_rule_prefix_may_cite_any_rule_and_declare_none() -> None:
    """A custom pack that names no platform prefix is not held to one (but still to declaring only
    cited GEN- IDs)."""
    raw = builtin("douyin")
    del raw["rule_prefix"], raw["rule_ids"]
    raw["versions"][0]["return_refund"]["review"]["rule"] = "KS-RR-1"
    for section in raw["versions"][0].values():
        if isinstance(section, dict):
            for setting in section.values():
                if isinstance(setting, dict) and str(setting.get("rule", "")).startswith("GEN-") \
                        and setting["rule"] not in RULE_IDS:
                    setting["rule"] = "KS-" + setting["rule"].split("-", 1)[1]
    pack = parse_pack(raw, "custom.toml")
    assert pack.rule_prefix is None and not pack.rule_ids
    assert pack.versions[0].return_refund.review.rule == "KS-RR-1"


def test_declared_like_may_name_several_rules() -> None:
    raw = builtin("douyin")
    raw["rule_ids"]["GEN-RR-4"]["like"] = ["KS-RR-4", "KS-RR-1"]
    assert parse_pack(raw, "two.toml").rule_ids["GEN-RR-4"].like == ("KS-RR-4", "KS-RR-1")


def test_bad_later_version_is_named_by_its_index() -> None:
    raw = with_v2(builtin("kuaishou"), return_refund={"review": {"hours": -24}})
    with pytest.raises(PolicyPackError, match=r"versions\[1\]\.return_refund\.review\.hours"):
        parse_pack(raw, "bad.toml")


@pytest.mark.parametrize("edit, field", [
    (lambda raw: raw.pop("name"), "'name'"),
    (lambda raw: raw.update(versions=[]), "'versions'"),
], ids=["no_name", "no_versions"])
def test_pack_needs_a_name_and_versions(edit: Any, field: str) -> None:
    raw = builtin("kuaishou")
    edit(raw)
    with pytest.raises(PolicyPackError, match=field):
        parse_pack(raw, "bad.toml")


def test_a_version_may_not_appear_twice() -> None:
    raw = with_v2(builtin("kuaishou"))
    raw["versions"][1]["version"] = raw["versions"][0]["version"]
    with pytest.raises(PolicyPackError, match="'version'"):
        parse_pack(raw, "bad.toml")


def test_bad_pack_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "custom.toml"
    text = (BUILTIN_DIR / "kuaishou.toml").read_text("utf-8").replace("hours = 48, rule = \"KS-RR-1\"",
                                                                       "hours = -48, rule = \"KS-RR-1\"")
    path.write_text(text, "utf-8")
    with pytest.raises(PolicyPackError, match=r"custom\.toml: versions\[0\]\.return_refund\.review\.hours"):
        load_pack(path)
    path.write_text("name = \"x\"\n[[versions]\n", "utf-8")
    with pytest.raises(PolicyPackError, match="not valid TOML"):
        load_pack(path)
    with pytest.raises(PolicyPackError, match="no such policy file"):
        load_pack(tmp_path / "missing.toml")


# -- versions -------------------------------------------------------------------------------------------

def test_later_version_overrides_only_what_it_names() -> None:
    raw = with_v2(builtin("kuaishou"), return_refund={"review": {"hours": 24}})
    pack = parse_pack(raw, "v.toml")
    v1, v2 = pack.versions
    assert (v1.return_refund.review.delta, v2.return_refund.review.delta) == (timedelta(hours=48), timedelta(hours=24))
    assert v2.return_refund.review.rule == "KS-RR-1"  # the rest of the setting is inherited
    same = {"version", "effective_from", "return_refund"}
    assert v1.model_dump(exclude=same) == v2.model_dump(exclude=same)
    assert v1.return_refund.buyer_ships == v2.return_refund.buyer_ships


def test_later_version_restating_a_rule_replaces_the_whole_setting() -> None:
    raw = with_v2(builtin("kuaishou"), return_refund={"review": {"hours": 24, "rule": "KS-RR-1", "source": "public"}})
    v2 = parse_pack(raw, "v.toml").versions[1]
    assert (v2.return_refund.review.delta, v2.return_refund.review.source) == (timedelta(hours=24), "public")
    assert v2.return_refund.review.note is None


def test_later_version_giving_a_span_in_other_units_replaces_its_length() -> None:
    raw = with_v2(builtin("kuaishou"), return_refund={"review": {"days": 1}})
    v2 = parse_pack(raw, "v.toml").versions[1]
    assert v2.return_refund.review.delta == timedelta(days=1)


def test_pack_at_picks_the_version_by_effective_date() -> None:
    pack = parse_pack(with_v2(builtin("douyin"), refund_only={"review_before_shipment": {"hours": 24}}), "v.toml")
    v1_from = pack.versions[0].effective_from
    assert pack.at(V2_FROM - timedelta(seconds=1)).version == "2026.1"
    assert pack.at(V2_FROM).version == "v2"
    assert pack.at(V2_FROM + timedelta(days=400)).version == "v2"
    assert pack.at(v1_from - timedelta(days=1)).version == "2026.1"  # before them all: the first
    assert pack.at(V2_FROM).refund_only.review_before_shipment.delta == timedelta(hours=24)


def test_versions_are_ordered_by_effective_date_not_by_file_order() -> None:
    raw = with_v2(builtin("douyin"))
    raw["versions"].append({"version": "v1.5", "effective_from": V2_FROM - timedelta(days=30)})
    pack = parse_pack(raw, "v.toml")
    assert [v.version for v in pack.versions] == ["2026.1", "v1.5", "v2"]
    assert pack.at(V2_FROM - timedelta(days=1)).version == "v1.5"


def test_registry_resolves_a_ticket_by_its_recorded_version() -> None:
    reg = PolicyRegistry.default()
    reg.add(parse_pack(with_v2(builtin("kuaishou"), return_refund={"review": {"hours": 24}}), "v.toml"))
    assert reg.resolve("kuaishou", "2026.1").return_refund.review.delta == timedelta(hours=48)
    assert reg.resolve("kuaishou", "v2").return_refund.review.delta == timedelta(hours=24)
    with pytest.raises(KeyError):
        reg.resolve("kuaishou", "v3")


def test_GEN_APPLY_5_cannot_be_switched_off_in_a_pack() -> None:
    raw = builtin("kuaishou")
    raw["versions"][0]["apply"]["one_open_ticket"]["enabled"] = False
    with pytest.raises(PolicyPackError, match="one_open_ticket"):
        parse_pack(raw, "custom.toml")


def test_a_version_listed_later_but_effective_earlier_is_merged_in_date_order() -> None:
    raw = builtin("kuaishou")
    base = raw["versions"][0]
    late = {"version": "late", "effective_from": datetime(2027, 1, 1, tzinfo=SHANGHAI),
            "return_refund": {"review": {"hours": 24, "rule": "KS-RR-1"}}}
    early = {"version": "early", "effective_from": datetime(2026, 6, 1, tzinfo=SHANGHAI),
             "return_refund": {"buyer_ships": {"days": 5, "rule": "KS-RR-2"}}}
    raw["versions"] = [base, late, early]
    pack = parse_pack(raw, "custom.toml")
    assert pack.version("early").return_refund.review.hours == 48
    assert pack.version("late").return_refund.buyer_ships.days == 5
    assert pack.version("late").return_refund.review.hours == 24
