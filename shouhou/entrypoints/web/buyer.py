"""The buyer's pages (/buyer): my orders with what each line can still refund and my site messages,
the application form (lines and quantities, amount, photos from the phone's camera), and a ticket's
progress with its next deadline and who must act, and the buyer's actions on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from ...adapters.blobs import HEAD, detect_type
from ...domain.lines import Cover
from ...domain.tickets import TICKET_TYPES
from ...errors import Refusal, refuse
from ...money import MoneyFormatError, parse_yuan
from ...policies import REASONS
from ...services import commands as c
from ...services.views import entry as entry_views
from ...services.views import tickets as ticket_views
from .core import Page, page
from .pages import _act, _csrf_refused, _field, _files, _not_found, _read, _refused_view, _ticket_context

router = APIRouter(include_in_schema=False)
PageDep = Annotated[Page, Depends(page)]


# -- the buyer's pages ---------------------------------------------------------------------------------

def _buyer(pg: Page) -> Response | None:
    if pg.actor is None:
        return pg.login_redirect()
    if not pg.actor.is_buyer:
        return _not_found(pg)
    return None


@router.get("/buyer/orders", response_class=HTMLResponse)
def buyer_orders(pg: PageDep) -> Response:
    if (r := _buyer(pg)) is not None:
        return r
    orders = _read(pg, ticket_views.list_orders, pg.now, limit=100)
    with pg.sh.uow(write=False) as uow:
        messages = entry_views.list_messages(uow, pg.signed_in, 20, 0)
    return pg.render("buyer_orders.html", orders=orders["items"], messages=messages["items"])


@router.get("/buyer/orders/{order_id}/apply", response_class=HTMLResponse)
def buyer_apply_form(order_id: str, pg: PageDep) -> Response:
    if (r := _buyer(pg)) is not None:
        return r
    try:
        order = _read(pg, ticket_views.get_order, order_id, pg.now)
    except Refusal as e:
        return _refused_view(pg, e)
    return pg.render("buyer_apply.html", order=order, types=TICKET_TYPES, reasons=REASONS, error=None, form={})


@router.post("/buyer/orders/{order_id}/apply", response_class=HTMLResponse)
async def buyer_apply(order_id: str, request: Request, pg: PageDep) -> Response:
    if (r := _buyer(pg)) is not None:
        return r
    form = await request.form()
    if not pg.csrf_ok(_field(form, "csrf")):
        return _csrf_refused(pg)
    try:
        order = _read(pg, ticket_views.get_order, order_id, pg.now)
    except Refusal as e:
        return _refused_view(pg, e)
    try:
        cover = tuple(Cover(line["sku"], int(q)) for line in order["lines"]
                      if (q := _field(form, f"qty:{line['sku']}")) and q.isdigit() and int(q) > 0)
        amount = _field(form, "amount")
        photos = [f for f in form.getlist("photos") if not isinstance(f, str) and f.filename]
        evidence = tuple(_keep_photo(pg, f) for f in photos[:9])
        tid = pg.sh.handle(c.Apply(order_id, _field(form, "type") or "", _field(form, "reason") or "",
                                   None if amount is None else parse_yuan(amount), evidence, _field(form, "note"),
                                   cover or None), pg.signed_in)
    except MoneyFormatError as e:
        return pg.render("buyer_apply.html", status=422, order=order, types=TICKET_TYPES, reasons=REASONS,
                         error={"message": str(e), "rules": []}, form=dict(form))
    except Refusal as e:
        return pg.render("buyer_apply.html", status=422, order=order, types=TICKET_TYPES, reasons=REASONS,
                         error=pg.refusal(e), form=dict(form))
    return RedirectResponse(f"/buyer/tickets/{quote(tid)}?done=apply", status_code=303)


PHOTO_MAX = 10 * 1024 * 1024


def _keep_photo(pg: Page, upload: Any) -> str:
    """A photo the buyer attached, kept in the blob store by its SHA-256: the ticket's evidence names it
    (`name sha256:…`)."""
    upload.file.seek(0, 2)
    size = upload.file.tell()
    upload.file.seek(0)
    if size > PHOTO_MAX:
        raise refuse("invalid_input", f"照片 {upload.filename} 超过 10 MiB",
                     f"photo {upload.filename} is larger than 10 MiB")
    kind = detect_type(upload.file.read(HEAD))
    upload.file.seek(0)
    if not kind.startswith("image/"):
        raise refuse("invalid_input", f"{upload.filename} 不是图片({kind})", f"{upload.filename} is not an image ({kind})")
    stored = pg.sh.blobs.put_stream(upload.file)
    return f"{(upload.filename or 'photo')[:120]} sha256:{stored.sha256}"


BUYER_ACTIONS: dict[str, Callable[[str, FormData], object]] = {
    "cancel": lambda i, f: c.Cancel(i),
    "waybill": lambda i, f: c.SubmitWaybill(i, _field(f, "carrier"), _field(f, "waybill")),
    "confirm_replacement": lambda i, f: c.ConfirmReplacement(i),
    "intervention": lambda i, f: c.RequestIntervention(i, _field(f, "reason")),
    "evidence": lambda i, f: c.SubmitEvidence(i, _files(f)),
}


@router.get("/buyer/tickets/{ticket_id}", response_class=HTMLResponse)
def buyer_ticket(ticket_id: str, pg: PageDep, done: str | None = None) -> Response:
    if (r := _buyer(pg)) is not None:
        return r
    try:
        ctx = _ticket_context(pg, ticket_id)
    except Refusal as e:
        return _refused_view(pg, e)
    return pg.render("buyer_ticket.html", **ctx, actions=_buyer_actions(ctx), done=done, error=None)


def _buyer_actions(ctx: dict[str, Any]) -> list[str]:
    actions = list(ctx["ticket"]["next_actions"]["buyer"])
    if (ctx["case"] or {}).get("status") == "collecting_evidence":
        actions.append("evidence")
    return actions


@router.post("/buyer/tickets/{ticket_id}/{action}", response_class=HTMLResponse)
async def buyer_act(ticket_id: str, action: str, request: Request, pg: PageDep) -> Response:
    if (r := _buyer(pg)) is not None:
        return r
    return await _act(request, pg, ticket_id, action, BUYER_ACTIONS, "/buyer/tickets", "buyer_ticket.html",
                      _buyer_actions)
