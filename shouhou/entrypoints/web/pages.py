"""The pages: sign-in, the shop's queue and ticket pages (/shop/tickets), the platform console's
intervention queue and case pages (/console), and the files behind them; the buyer's pages are in
buyer.py, the rest of the desk and the console in desk.py. Each route reads through the same services as the API (services.views) and acts through
the same commands (Shouhou.handle), as the signed-in actor: the same tenancy (others' objects answer
404) and the same roles. A refused action re-renders its page with the engine's message and rule IDs
in the page's language; every form carries the session's CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from ...adapters.blobs import HEAD, detect_type
from ...adapters.uow import SqlUnitOfWork
from ...clock import SHANGHAI
from ...domain.actors import Actor
from ...domain.remedies import FINDINGS
from ...domain.tickets import TICKET_TYPES
from ...errors import Refusal
from ...money import MoneyFormatError, parse_yuan
from ...policies import REASONS
from ...services import commands as c
from ...services.access import actor_for_token
from ...services.views import disputes as dispute_views
from ...services.views import shops as shop_views
from ...services.views import tickets as ticket_views
from ..api.errors import STATUS, RateLimited
from ..api.ratelimit import Gate
from .core import HOME, LOGIN_CSRF, SESSION, Page, csrf_for, new_login_secret, page

router = APIRouter(include_in_schema=False)
PageDep = Annotated[Page, Depends(page)]
FORM_FIELD_MAX = 2000  # characters in any one form field

# The shop's queue tabs: (tab, the statuses it holds)
TABS = (("todo", ("pending_review",)), ("receipt", ("awaiting_receipt",)),
        ("replacement", ("awaiting_replacement", "replacement_shipped")), ("return", ("awaiting_return",)),
        ("platform", ("in_intervention",)), ("all", ()))
URGENT_HOURS = 6  # a countdown turns red in its last hours


def _field(form: FormData, name: str) -> str | None:
    v = form.get(name)
    if not isinstance(v, str):
        return None
    v = v.strip()
    return v[:FORM_FIELD_MAX] if v else None


def _read(pg: Page, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    with pg.sh.uow(write=False) as uow:
        return fn(uow, pg.signed_in, *args, **kw)


def _not_found(pg: Page) -> HTMLResponse:
    return pg.render("error.html", status=404, title=pg.t("Not found"),
                     message=pg.t("There is nothing here you may see."))


def _refused_view(pg: Page, r: Refusal) -> HTMLResponse:
    if r.code == "not_found":
        return _not_found(pg)
    status = STATUS[r.code]
    return pg.render("error.html", status=status, title=pg.t("Refused"), message=pg.refusal(r)["message"],
                     rules=r.rules)


def countdown(pg: Page, due: dict[str, Any] | None) -> dict[str, Any] | None:
    """A deadline as the queue shows it: when, how long is left at the engine's time, and its state
    (late once passed, urgent in its last hours)."""
    if not due:
        return None
    at = datetime.fromisoformat(due["at"])
    left = (at - pg.now).total_seconds()
    state = "late" if left <= 0 else "urgent" if left <= URGENT_HOURS * 3600 else "ok"
    return {"at": due["at"], "left": int(left), "state": state, "action": due["action"], "rule": due["rule"]}


# -- sign-in ----------------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def home(pg: PageDep) -> Response:
    if pg.actor is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME[pg.actor.kind], status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(pg: PageDep, next: str | None = None) -> Response:  # noqa: A002 - the query's name
    secret = new_login_secret()
    response = pg.render("login.html", login_csrf=csrf_for(secret), next=_safe_next(next), error=None)
    response.set_cookie(LOGIN_CSRF, secret, httponly=True, samesite="strict", max_age=3600)
    return response


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never //host or a scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:500]
    return ""


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, pg: PageDep) -> Response:
    form = await request.form()
    secret = request.cookies.get(LOGIN_CSRF) or ""
    sent = _field(form, "csrf") or ""
    if not secret or sent != csrf_for(secret):
        return pg.render("error.html", status=403, title=pg.t("Refused"),
                         message=pg.t("The form expired or came from another site. Reload the page and try again."))
    token = _field(form, "token") or ""
    pg.token = token
    gate: Gate = request.app.state.gate  # the API's limit on failed authentications, per address
    address = request.client.host if request.client else "unknown"
    try:
        gate.check_address(address)
    except RateLimited as limited:
        page_ = pg.render("error.html", status=429, title=pg.t("Refused"), message=pg.refusal(limited)["message"])
        page_.headers["Retry-After"] = str(limited.retry_after)
        return page_
    actor = None
    try:
        with pg.sh.uow(write=False) as uow:
            actor = actor_for_token(uow, token) if token else None
    except Refusal:
        actor = None
    if actor is None:
        gate.failed(address)
        fresh = new_login_secret()
        again = pg.render("login.html", status=401, login_csrf=csrf_for(fresh),
                          next=_safe_next(_field(form, "next")), error=pg.t("This token is not valid."))
        again.set_cookie(LOGIN_CSRF, fresh, httponly=True, samesite="strict", max_age=3600)
        return again
    target = _safe_next(_field(form, "next")) or HOME[actor.kind]
    response = RedirectResponse(target, status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(SESSION, token, httponly=True, samesite="lax", secure=secure, max_age=12 * 3600)
    response.delete_cookie(LOGIN_CSRF)
    return response


@router.post("/logout")
async def logout(request: Request, pg: PageDep) -> Response:
    form = await request.form()
    if pg.actor is not None and not pg.csrf_ok(_field(form, "csrf")):
        return _csrf_refused(pg)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION)
    return response


def _csrf_refused(pg: Page) -> HTMLResponse:
    return pg.render("error.html", status=403, title=pg.t("Refused"),
                     message=pg.t("The form expired or came from another site. Reload the page and try again."))


# -- the shop's desk ----------------------------------------------------------------------------------

def _staff(pg: Page) -> Response | None:
    if pg.actor is None:
        return pg.login_redirect()
    if not pg.actor.is_staff:
        return _not_found(pg)
    return None


@router.get("/shop/tickets", response_class=HTMLResponse)
def shop_queue(pg: PageDep, tab: str = "todo", type: str | None = None,  # noqa: A002 - the filter's name
               reason: str | None = None, over_period: str | None = None, due_before: str | None = None,
               done: str | None = None) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    statuses = dict(TABS).get(tab)
    if statuses is None:
        tab, statuses = "todo", ("pending_review",)
    filters: dict[str, Any] = {"type_": type if type in TICKET_TYPES else None,
               "reason": reason if reason in REASONS else None,
               "over_period": {"yes": True, "no": False}.get(over_period or ""),
               "due_before": _local_time(due_before)}
    with pg.sh.uow(write=False) as uow:
        counts = {name: ticket_views.list_tickets(uow, pg.signed_in, statuses=list(sts) or None, limit=0)["total"]
                  for name, sts in TABS}
        queue = ticket_views.list_tickets(uow, pg.signed_in, statuses=list(statuses) or None, limit=200, **filters)
    rows = [{**x, "countdown": countdown(pg, x["due"])} for x in queue["items"]]
    return pg.render("shop_queue.html", tabs=[(n, counts[n]) for n, _ in TABS], tab=tab, rows=rows,
                     total=queue["total"], types=TICKET_TYPES, reasons=REASONS,
                     filters={"type": type, "reason": reason, "over_period": over_period, "due_before": due_before},
                     done=done)


def _local_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=SHANGHAI)


@router.post("/shop/tickets/bulk-approve", response_class=HTMLResponse)
async def shop_bulk_approve(request: Request, pg: PageDep) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    form = await request.form()
    if not pg.csrf_ok(_field(form, "csrf")):
        return _csrf_refused(pg)
    ids = [v for v in form.getlist("ticket") if isinstance(v, str)][:200]
    outcomes = pg.sh.handle_each([c.Approve(i) for i in ids], pg.signed_in)
    results = [{"ticket": i, "ok": refusal is None, "refusal": None if refusal is None else pg.refusal(refusal)}
               for i, (_, refusal) in zip(ids, outcomes, strict=True)]
    return pg.render("bulk_result.html", results=results)


def _ticket_context(pg: Page, ticket_id: str) -> dict[str, Any]:
    with pg.sh.uow(write=False) as uow:
        actor = pg.signed_in
        ticket = ticket_views.get_ticket(uow, actor, ticket_id)
        order = ticket_views.get_order(uow, actor, ticket["order"], pg.now)
        shop = None if actor.is_buyer else shop_views.get_shop(uow, actor, ticket["shop"])
        case = _case(uow, actor, ticket_id, pg.now)
    return {"ticket": ticket, "order": order, "shop": shop, "case": case, "findings": FINDINGS,
            "countdown": countdown(pg, ticket["due"])}


def _case(uow: SqlUnitOfWork, actor: Actor, ticket_id: str, now: datetime) -> dict[str, Any] | None:
    """The ticket's platform intervention, or None when it never went to the platform (the view
    answers not_found then; the ticket itself was loaded, and seen, just before)."""
    try:
        return dispute_views.get_case(uow, actor, ticket_id, now)
    except Refusal as e:
        if e.code != "not_found":
            raise
        return None


@router.get("/shop/tickets/{ticket_id}", response_class=HTMLResponse)
def shop_ticket(ticket_id: str, pg: PageDep, done: str | None = None) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    try:
        ctx = _ticket_context(pg, ticket_id)
    except Refusal as e:
        return _refused_view(pg, e)
    return pg.render("shop_ticket.html", **ctx, actions=_shop_actions(ctx), done=done, error=None)


def _shop_actions(ctx: dict[str, Any]) -> list[str]:
    actions = list(ctx["ticket"]["next_actions"]["shop"])
    remedy = (ctx["case"] or {}).get("remedy") or {}
    if "retrieve_goods" in actions and remedy.get("retrieval") != "open":
        actions.remove("retrieve_goods")  # KS-PI-6: only while the shop's retrieval task is open
    if (ctx["case"] or {}).get("status") == "collecting_evidence":
        actions.append("evidence")  # KS-PI-2: the engine checks the window, the types and the sizes
    ruling = (ctx["case"] or {}).get("ruling") or {}
    appeals = (ctx["case"] or {}).get("appeals") or []
    if ruling.get("effective_fault") in ("shop", "both") and ctx["ticket"]["status"] == "refunded" \
            and not any(a["status"] == "pending" for a in appeals):
        actions.append("appeal")  # KS-PI-3: the engine checks its 48 h and the monthly limits
    return actions


SHOP_ACTIONS: dict[str, Callable[[str, FormData], object]] = {
    "approve": lambda i, f: c.Approve(i, _field(f, "return_address")),
    "reject": lambda i, f: c.Reject(i, _field(f, "reason")),
    "confirm_return": lambda i, f: c.ConfirmReturn(i),
    "refuse_return": lambda i, f: c.RefuseReturn(i, _field(f, "reason")),
    "ship_replacement": lambda i, f: c.ShipReplacement(i, _field(f, "carrier"), _field(f, "waybill")),
    "refund_instead": lambda i, f: c.RefundInstead(i),
    "cannot_reship": lambda i, f: c.CannotReship(i),
    "retrieve_goods": lambda i, f: c.RetrieveGoods(i),
    "intervention": lambda i, f: c.RequestIntervention(i, _field(f, "reason")),
    "appeal": lambda i, f: c.FileAppeal(i, _field(f, "reason")),
    "evidence": lambda i, f: c.SubmitEvidence(i, _files(f)),
}


def _files(form: FormData) -> tuple[c.EvidenceFile, ...]:
    """The evidence files of a form, as sent (the engine checks their types from their bytes)."""
    return tuple(c.EvidenceFile(name=(u.filename or "evidence")[:255], content_type=u.content_type or "",
                                content=u.file)
                 for u in form.getlist("files") if not isinstance(u, str) and u.filename)


@router.post("/shop/tickets/{ticket_id}/{action}", response_class=HTMLResponse)
async def shop_act(ticket_id: str, action: str, request: Request, pg: PageDep) -> Response:
    if (r := _staff(pg)) is not None:
        return r
    return await _act(request, pg, ticket_id, action, SHOP_ACTIONS, "/shop/tickets", "shop_ticket.html",
                      _shop_actions)


async def _act(request: Request, pg: PageDep, ticket_id: str, action: str,
               table: dict[str, Callable[[str, FormData], object]], base: str, template: str,
               actions: Callable[[dict[str, Any]], list[str]]) -> Response:
    form = await request.form()
    if not pg.csrf_ok(_field(form, "csrf")):
        return _csrf_refused(pg)
    make = table.get(action)
    if make is None:
        return _not_found(pg)
    try:
        pg.sh.handle(make(ticket_id, form), pg.signed_in)
    except Refusal as e:
        try:
            ctx = _ticket_context(pg, ticket_id)
        except Refusal as gone:
            return _refused_view(pg, gone)
        status = STATUS[e.code]
        return pg.render(template, status=status, **ctx, actions=actions(ctx), done=None,
                         error=pg.refusal(e))
    return RedirectResponse(f"{base}/{quote(ticket_id)}?done={action}", status_code=303)


# -- the platform console ------------------------------------------------------------------------------

def _platform(pg: Page) -> Response | None:
    if pg.actor is None:
        return pg.login_redirect()
    if not pg.actor.is_platform:
        return _not_found(pg)
    return None


@router.get("/console/interventions", response_class=HTMLResponse)
def console_queue(pg: PageDep, missed: str | None = None) -> Response:
    if (r := _platform(pg)) is not None:
        return r
    try:
        queue = _read(pg, dispute_views.platform_interventions, pg.now, None,
                      True if missed == "yes" else None, 200, 0)
    except Refusal as e:
        return _refused_view(pg, e)
    rows = [{**x, "countdown": countdown(pg, {"at": x["response_due_at"], "action": "respond", "rule": None})}
            for x in queue["items"]]
    return pg.render("console_queue.html", rows=rows, total=queue["total"], missed=missed)


CONSOLE_ACTIONS: dict[str, Callable[[str, FormData], object]] = {
    "respond": lambda i, f: c.RespondIntervention(i),
    "evidence_request": lambda i, f: c.RequestEvidence(i),
    "ruling": lambda i, f: c.Rule(i, _field(f, "in_favour_of") or "", _field(f, "remedy"),
                                  None if _field(f, "amount") is None else parse_yuan(_field(f, "amount")),
                                  _field(f, "fault"), _field(f, "finding")),
}


@router.get("/console/tickets/{ticket_id}", response_class=HTMLResponse)
def console_ticket(ticket_id: str, pg: PageDep, done: str | None = None) -> Response:
    if (r := _platform(pg)) is not None:
        return r
    try:
        ctx = _ticket_context(pg, ticket_id)
    except Refusal as e:
        return _refused_view(pg, e)
    return pg.render("console_case.html", **ctx, done=done, error=None, actions=[])


@router.post("/console/tickets/{ticket_id}/{action}", response_class=HTMLResponse)
async def console_act(ticket_id: str, action: str, request: Request, pg: PageDep) -> Response:
    if (r := _platform(pg)) is not None:
        return r
    try:
        return await _act(request, pg, ticket_id, action, CONSOLE_ACTIONS, "/console/tickets", "console_case.html",
                          lambda ctx: [])
    except MoneyFormatError as e:
        ctx = _ticket_context(pg, ticket_id)
        return pg.render("console_case.html", status=422, **ctx, done=None, actions=[],
                         error={"message": str(e), "rules": []})


# -- files: the buyer's photos and the intervention's evidence, to whoever may see the ticket -----------

@router.get("/files/photos/{ticket_id}/{sha256}")
def photo(ticket_id: str, sha256: str, pg: PageDep) -> Response:
    if pg.actor is None:
        return pg.login_redirect()
    try:
        ticket = _read(pg, ticket_views.get_ticket, ticket_id)
    except Refusal as e:
        return _refused_view(pg, e)
    if len(sha256) != 64 or not any(str(x).endswith(f"sha256:{sha256}") for x in ticket["evidence"]):
        return _not_found(pg)
    data = pg.sh.blobs.get(sha256)
    kind = detect_type(data[:HEAD])
    return Response(data, media_type=kind if kind.startswith("image/") else "application/octet-stream",
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"})


@router.get("/files/evidence/{item_id}")
def evidence_file(item_id: str, pg: PageDep) -> Response:
    if pg.actor is None:
        return pg.login_redirect()
    try:
        item = _read(pg, dispute_views.evidence_content, item_id)
    except Refusal as e:
        return _refused_view(pg, e)
    inline = item.content_type.startswith("image/")
    return Response(pg.sh.blobs.get(item.blob_key), media_type=item.content_type,
                    headers={"X-Content-Type-Options": "nosniff",
                             "Content-Disposition": "inline" if inline else f'attachment; filename="{item.sha256[:12]}"'})
