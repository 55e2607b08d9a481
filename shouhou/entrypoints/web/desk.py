"""More of the shop's desk (money, governance, the over-period entry) and of the platform console
(the governance report over every shop, the policy packs in force): the same views and commands as
the API, each figure beside its chart."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.responses import Response as PlainResponse

from ...domain import automation, roles
from ...domain.tickets import TICKET_TYPES
from ...errors import Refusal
from ...money import MoneyFormatError, parse_yuan
from ...policies import MEASURES, REASONS
from ...services import commands as c
from ...services.views import automation as automation_views
from ...services.views import disputes as dispute_views
from ...services.views import entry as entry_views
from ...services.views import governance as gov_views
from ...services.views import money as money_views
from ...services.views import shops as shop_views
from ...services.views import tickets as ticket_views
from ...services.views import tokens as token_views
from ..api.errors import STATUS
from . import charts
from .core import Page, page
from .pages import _csrf_refused, _field, _not_found, _platform, _refused_view, _staff

router = APIRouter(include_in_schema=False)
PageDep = Annotated[Page, Depends(page)]


def _shop_id(pg: Page) -> str:
    return pg.signed_in.shop_id or ""


# -- money --------------------------------------------------------------------------------------------

@router.get("/shop/money", response_class=HTMLResponse)
def shop_money(pg: PageDep, done: str | None = None) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    return _money_page(pg, done=done, error=None)


def _money_page(pg: Page, *, done: str | None, error: dict[str, Any] | None, status: int = 200) -> HTMLResponse:
    with pg.sh.uow(write=False) as uow:
        balances = money_views.shop_balances(uow, pg.signed_in, _shop_id(pg))
        lines = money_views.statement(uow, pg.signed_in, _shop_id(pg), limit=2000)["lines"]
        exit_check = money_views.exit_check_view(uow, pg.signed_in, _shop_id(pg), pg.sh.policies, pg.now)
    running, wallet = 0, []
    for x in lines:
        if x["account"] == "wallet":
            running += parse_yuan(x["amount"])
            wallet.append((pg.when(x["at"])[:10], running / 100))
    chart = charts.line(pg.t("Wallet balance over time"), wallet, " ¥")
    return pg.render("shop_money.html", status=status, balances=balances, lines=list(reversed(lines))[:100],
                     exit_check=exit_check, chart=chart, wallet_points=wallet[-10:], done=done, error=error)


@router.get("/shop/money/statement.csv")
def shop_statement_csv(pg: PageDep) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    with pg.sh.uow(write=False) as uow:
        view = money_views.statement(uow, pg.signed_in, _shop_id(pg), limit=None)
    return PlainResponse(money_views.statement_csv(view), media_type="text/csv; charset=utf-8",
                         headers={"Content-Disposition": f'attachment; filename="statement-{_shop_id(pg)}.csv"'})


@router.post("/shop/money/top-up", response_class=HTMLResponse)
async def shop_top_up(request: Request, pg: PageDep) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    form = await request.form()
    if not pg.csrf_ok(_field(form, "csrf")):
        return _csrf_refused(pg)
    try:
        pg.sh.handle(c.TopUp(_shop_id(pg), _field(form, "account") or "", parse_yuan(_field(form, "amount") or "")),
                     pg.signed_in)
    except MoneyFormatError as e:
        return _money_page(pg, done=None, error={"message": str(e), "rules": []}, status=422)
    except Refusal as e:
        return _money_page(pg, done=None, error=pg.refusal(e), status=STATUS[e.code])
    return RedirectResponse("/shop/money?done=top_up", status_code=303)


# -- governance ---------------------------------------------------------------------------------------

@router.get("/shop/governance", response_class=HTMLResponse)
def shop_governance(pg: PageDep, done: str | None = None) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    return _governance_page(pg, done=done, error=None)


def _governance_page(pg: Page, *, done: str | None, error: dict[str, Any] | None, status: int = 200) -> HTMLResponse:
    with pg.sh.uow(write=False) as uow:
        view = gov_views.shop_view(uow, pg.signed_in, pg.sh.policies, _shop_id(pg), pg.now)
    inputs = [(pg.label("metric", x["metric"]), float(x["contribution"])) for x in view["score"]["inputs"]]
    chart = charts.bars(pg.t("What takes the score down"), inputs)
    return pg.render("shop_governance.html", status=status, view=view, chart=chart, done=done, error=error)


@router.post("/shop/governance/measures/{measure_id}/appeal", response_class=HTMLResponse)
async def shop_measure_appeal(measure_id: str, request: Request, pg: PageDep) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    form = await request.form()
    if not pg.csrf_ok(_field(form, "csrf")):
        return _csrf_refused(pg)
    try:
        pg.sh.handle(c.AppealMeasure(measure_id, _field(form, "reason")), pg.signed_in)
    except Refusal as e:
        if e.code == "not_found":
            return _not_found(pg)
        return _governance_page(pg, done=None, error=pg.refusal(e), status=STATUS[e.code])
    return RedirectResponse("/shop/governance?done=appeal", status_code=303)


# -- the over-period entry ------------------------------------------------------------------------------

@router.get("/shop/entry", response_class=HTMLResponse)
def shop_entry(pg: PageDep, order: str | None = None, done: str | None = None) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    return _entry_page(pg, order, done=done, error=None)


def _entry_page(pg: Page, order: str | None, *, done: str | None, error: dict[str, Any] | None,
                status: int = 200) -> HTMLResponse:
    with pg.sh.uow(write=False) as uow:
        completed = ticket_views.list_orders(uow, pg.signed_in, pg.now, status="completed", limit=50)["items"]
        entry = None
        if order:
            try:
                entry = entry_views.entry_view(uow, pg.signed_in, order, pg.sh.policies, pg.now)
            except Refusal as e:
                if e.code != "not_found":
                    raise
                error = error or {"message": pg.t("No such order in your shop."), "rules": []}
    return pg.render("shop_entry.html", status=status, completed=completed, entry=entry, order=order or "",
                     done=done, error=error)


@router.post("/shop/entry/open", response_class=HTMLResponse)
async def shop_entry_open(request: Request, pg: PageDep) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    form = await request.form()
    if not pg.csrf_ok(_field(form, "csrf")):
        return _csrf_refused(pg)
    orders = [v for v in form.getlist("order") if isinstance(v, str)][:100]
    outcomes = pg.sh.handle_each([c.OpenEntry(o) for o in orders], pg.signed_in)
    results = [{"order": o, "ok": refusal is None, "refusal": None if refusal is None else pg.refusal(refusal)}
               for o, (_, refusal) in zip(orders, outcomes, strict=True)]
    return pg.render("entry_result.html", results=results)


# -- the console: governance report and policy packs ------------------------------------------------------

@router.get("/console/governance", response_class=HTMLResponse)
def console_governance(pg: PageDep, sort: str = "overdue", desc: str = "1", level: str | None = None) -> Response:
    if (r := _platform(pg)) is not None:
        return r
    try:
        with pg.sh.uow(write=False) as uow:
            view = gov_views.report(uow, pg.signed_in, pg.sh.policies, pg.now, sort=sort, descending=desc != "0")
    except Refusal as e:
        return _refused_view(pg, e)
    rows = [x for x in view["rows"] if level in (None, "", x["level"])]
    levels = Counter(x["level"] for x in view["rows"])
    by_level = charts.bars(pg.t("Shops by level"), sorted(levels.items(), reverse=True))
    worst = sorted(view["rows"], key=lambda x: x["overdue_rate"] or 0, reverse=True)[:10]
    overdue = charts.bars(pg.t("Overdue rate, the ten highest"),
                          [(x["shop"], round(100 * (x["overdue_rate"] or 0), 1)) for x in worst], " %")
    steps = Counter(x["step"] or "" for x in view["rows"])
    ladder = [(pg.label("measure", name) if name else pg.t("no measure"), steps.get(name, 0))
              for name in ("", *MEASURES)]
    by_step = charts.bars(pg.t("Shops by the highest measure in force"), ladder)
    return pg.render("console_governance.html", view=view, rows=rows, levels=sorted(levels.items(), reverse=True),
                     by_level=by_level, overdue=overdue, worst=worst, sort=sort, desc=desc, level=level or "",
                     by_step=by_step, ladder=ladder)


@router.get("/console/governance.csv")
def console_governance_csv(pg: PageDep, sort: str = "overdue") -> Response:
    if (r := _platform(pg)) is not None:
        return r
    try:
        with pg.sh.uow(write=False) as uow:
            view = gov_views.report(uow, pg.signed_in, pg.sh.policies, pg.now, sort=sort)
    except Refusal as e:
        return _refused_view(pg, e)
    return PlainResponse(gov_views.report_csv(view), media_type="text/csv; charset=utf-8",
                         headers={"Content-Disposition": 'attachment; filename="governance.csv"'})


@router.get("/console/policies", response_class=HTMLResponse)
def console_policies(pg: PageDep, name: str | None = None) -> Response:
    if (r := _platform(pg)) is not None:
        return r
    packs = shop_views.policy_list(pg.sh.policies)
    names = [str(p["name"]) for p in packs]
    chosen = name if name is not None and name in names else names[0]
    detail = shop_views.policy_detail(pg.sh.policies, chosen, None, pg.now)
    return pg.render("console_policies.html", packs=packs, detail=detail, chosen=chosen)


# -- the shop's automation rules (售后小助手, GEN-AUTO-1) -------------------------------------------------

EDITOR_ROWS = 5


@router.get("/shop/automation", response_class=HTMLResponse)
def shop_automation(pg: PageDep, done: str | None = None) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    with pg.sh.uow(write=False) as uow:
        saved = automation_views.automation_rules(uow, pg.signed_in, _shop_id(pg))["rules"]
    return _automation_page(pg, saved, preview=None, done=done, error=None)


def _automation_page(pg: Page, rules: list[dict[str, Any]], *, preview: dict[str, Any] | None, done: str | None,
                     error: dict[str, Any] | None, status: int = 200) -> HTMLResponse:
    rows = [*rules, *({"id": "", "action": "approve", "when": {}} for _ in range(EDITOR_ROWS - len(rules)))]
    return pg.render("shop_automation.html", status=status, rows=rows[:max(EDITOR_ROWS, len(rules))],
                     types=TICKET_TYPES, reasons=REASONS, states=automation.ORDER_STATES,
                     standings=automation.STANDINGS, preview=preview, done=done, error=error)


def _rules_from(form: Any) -> list[dict[str, Any]]:
    """The editor's rows as the engine's rule list: a row without an id is left out."""
    out = []
    for i in range(20):
        rid = _field(form, f"id{i}")
        if rid is None:
            if _field(form, f"action{i}") is None:
                break
            continue
        when: dict[str, Any] = {}
        for key in ("types", "reasons"):
            picked = [v for v in form.getlist(f"{key}{i}") if isinstance(v, str) and v]
            if picked:
                when[key] = picked
        for key in ("max_amount", "order_state", "buyer_standing"):
            if (v := _field(form, f"{key}{i}")) is not None:
                when[key] = v
        if (cats := _field(form, f"categories{i}")) is not None:
            when["categories"] = [x.strip() for x in cats.replace("，", ",").split(",") if x.strip()]
        out.append({"id": rid, "action": _field(form, f"action{i}") or "", "when": when})
    return out


@router.post("/shop/automation", response_class=HTMLResponse)
async def shop_automation_save(request: Request, pg: PageDep) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    form = await request.form()
    if not pg.csrf_ok(_field(form, "csrf")):
        return _csrf_refused(pg)
    rules = _rules_from(form)
    try:
        if _field(form, "intent") == "preview":
            with pg.sh.uow(write=False) as uow:
                shown = automation_views.preview(uow, pg.signed_in, _shop_id(pg), rules, pg.now)
            return _automation_page(pg, rules, preview=shown, done=None, error=None)
        pg.sh.handle(c.SetAutomation(_shop_id(pg), tuple(rules)), pg.signed_in)
    except Refusal as e:
        return _automation_page(pg, rules, preview=None, done=None, error=pg.refusal(e),
                                status=STATUS[e.code])
    return RedirectResponse("/shop/automation?done=save", status_code=303)


# -- the console: tokens and roles, appeals of rulings ----------------------------------------------------

@router.get("/console/tokens", response_class=HTMLResponse)
def console_tokens(pg: PageDep, holder: str | None = None) -> Response:
    if (r := _platform(pg)) is not None:
        return r
    return _tokens_page(pg, holder, issued=None, error=None)


def _tokens_page(pg: Page, holder: str | None, *, issued: c.IssuedToken | None, error: dict[str, Any] | None,
                 status: int = 200) -> HTMLResponse:
    try:
        with pg.sh.uow(write=False) as uow:
            tokens = token_views.list_tokens(uow, pg.signed_in, pg.now, holder=holder or None, limit=100)
    except Refusal as e:
        return _refused_view(pg, e)
    acts = [(act, sorted(who - {roles.SYSTEM})) for act, who in roles.ACTS.items()]
    return pg.render("console_tokens.html", status=status, tokens=tokens["items"], total=tokens["total"],
                     holder=holder or "", acts=acts, issued=issued, error=error)


@router.post("/console/tokens", response_class=HTMLResponse)
async def console_issue_token(request: Request, pg: PageDep) -> Response:
    if (r := _platform(pg)) is not None:
        return r
    form = await request.form()
    if not pg.csrf_ok(_field(form, "csrf")):
        return _csrf_refused(pg)
    days = _field(form, "days")
    try:
        issued = pg.sh.handle(c.IssueToken(kind=_field(form, "kind") or "", actor_id=_field(form, "holder") or "",
                                           role=_field(form, "role"), label=_field(form, "label"),
                                           lifetime=timedelta(days=int(days)) if days and days.isdigit() else None),
                              pg.signed_in)
    except Refusal as e:
        return _tokens_page(pg, None, issued=None, error=pg.refusal(e), status=STATUS[e.code])
    return _tokens_page(pg, None, issued=issued, error=None, status=201)


@router.post("/console/tokens/{token_id}/revoke", response_class=HTMLResponse)
async def console_revoke_token(token_id: str, request: Request, pg: PageDep) -> Response:
    if (r := _platform(pg)) is not None:
        return r
    form = await request.form()
    if not pg.csrf_ok(_field(form, "csrf")):
        return _csrf_refused(pg)
    try:
        pg.sh.handle(c.RevokeToken(token_id), pg.signed_in)
    except Refusal as e:
        return _tokens_page(pg, None, issued=None, error=pg.refusal(e), status=STATUS[e.code])
    return RedirectResponse("/console/tokens", status_code=303)


@router.get("/console/appeals", response_class=HTMLResponse)
def console_appeals(pg: PageDep, done: str | None = None) -> Response:
    if (r := _platform(pg)) is not None:
        return r
    return _appeals_page(pg, done=done, error=None)


def _appeals_page(pg: Page, *, done: str | None, error: dict[str, Any] | None, status: int = 200) -> HTMLResponse:
    with pg.sh.uow(write=False) as uow:
        appeals = dispute_views.list_appeals(uow, pg.signed_in, "pending", 100, 0)["items"]
    return pg.render("console_appeals.html", status=status, appeals=appeals, done=done, error=error)


@router.post("/console/appeals/{appeal_id}", response_class=HTMLResponse)
async def console_decide_appeal(appeal_id: str, request: Request, pg: PageDep) -> Response:
    if (r := _platform(pg)) is not None:
        return r
    form = await request.form()
    if not pg.csrf_ok(_field(form, "csrf")):
        return _csrf_refused(pg)
    try:
        pg.sh.handle(c.DecideAppeal(appeal_id, _field(form, "upheld") == "yes", _field(form, "answer"),
                                    _field(form, "fault_after")), pg.signed_in)
    except Refusal as e:
        if e.code == "not_found":
            return _not_found(pg)
        return _appeals_page(pg, done=None, error=pg.refusal(e), status=422)
    return RedirectResponse("/console/appeals?done=decide", status_code=303)
