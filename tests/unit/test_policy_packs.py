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

from .test_aftersales import RULE_IDS

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
def test_every_rule_id_cited_in_the_packs_exists_in_RULES_md(name: str) -> None:
    pack = PolicyRegistry.default().get(name)
    cited = {rule for v in pack.versions for _setting, _value, rule, _source, _note in v.rows()}
    assert len(cited) >= 10
    assert cited <= RULE_IDS, f"{name} cites rules RULES.md does not define: {sorted(cited - RULE_IDS)}"


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
