"""The HTTP API (FastAPI). Routes only translate: HTTP in, a command or query, JSON out. Rules live
in the domain; who may see what lives in the services (others' objects answer 404)."""

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import Response
from pydantic import BaseModel

from ...domain.actors import Actor
from ...errors import refuse
from ...money import parse_yuan
from ...services import commands as c
from ...services import queries as q
from ...services.app import Shouhou
from .actions import MakeCommand, action_route
from .deps import ActorDep, NowDep, ShouhouDep, read, run
from .errors import ERRORS
from .errors import install as install_error_handling
from .routing import include
from .schemas.common import EventOut, Offset, When
from .schemas.disputes import (
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    AppealPage,
    CaseOut,
    CasePage,
    EvidenceIn,
    RulingIn,
)
from .schemas.entry import (
    BulkOpenIn,
    BulkOpenOut,
    DeclineIn,
    EntryOut,
    MessagePage,
    ReopenIn,
    ReopenOut,
    ReopenPage,
)
from .schemas.money import BalancesOut, ExitCheckOut, StatementOut, TopUpIn, WithdrawIn
from .schemas.orders import OrderIn, OrderOut, ShipIn
from .schemas.policies import PolicyDetailOut, PolicyOut
from .schemas.shops import BuyerIn, MeOut, ShopIn, ShopOut, ShopStatusIn, StaffIn, TokenIn, TokenOut
from .schemas.tickets import ApplyIn, ApproveIn, InterventionIn, ReasonIn, TicketOut, TicketPage, WaybillIn
from .worker import lifespan


def yuan(v: str | None) -> int | None:
    return None if v is None else parse_yuan(v)


def create_app(shouhou: Shouhou, *, worker: bool = False, worker_interval: float = 1.0,
               worker_batch: int = 200) -> FastAPI:
    app = FastAPI(
        title="shouhou 售后",
        version="0.1.0",
        description="After-sales engine: tickets whose deadlines act by themselves, policy packs for "
                    "Kuaishou (快手小店) and Douyin (抖店). Errors: `{code, message_zh, message_en, rules}`.",
        lifespan=lifespan(shouhou, worker=worker, interval=worker_interval, batch=worker_batch),
        responses=ERRORS,
    )
    app.state.shouhou = shouhou

    install_error_handling(app)

    # -- meta -------------------------------------------------------------------------------------
    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/me", tags=["meta"], response_model=MeOut)
    def me(actor: ActorDep) -> dict[str, Any]:
        return {"kind": actor.kind, "id": actor.id, "shop": actor.shop_id, "role": actor.role}

    # -- policies -------------------------------------------------------------------------------
    @app.get("/v1/policies", tags=["policies"], response_model=list[PolicyOut])
    def policies(sh: ShouhouDep, actor: ActorDep) -> list[dict[str, Any]]:
        return q.policy_list(sh.policies)

    @app.get("/v1/policies/{name}", tags=["policies"], response_model=PolicyDetailOut)
    def policy(name: str, sh: ShouhouDep, actor: ActorDep, now: NowDep, version: str | None = None) -> dict[str, Any]:
        return q.policy_detail(sh.policies, name, version, now)

    # -- shops, staff, buyers, tokens -------------------------------------------------------------
    @app.post("/v1/shops", tags=["shops"], status_code=201, response_model=ShopOut)
    def create_shop(body: ShopIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
        run(sh, c.CreateShop(id=body.id, name=body.name, policy=body.policy, status=body.status,
                             wallet_fen=parse_yuan(body.wallet), deposit_fen=parse_yuan(body.deposit),
                             wallet_opened_at=body.wallet_opened_at, return_address=body.return_address), actor)
        return read(sh, q.get_shop, actor, body.id)

    @app.get("/v1/shops/{shop_id}", tags=["shops"], response_model=ShopOut)
    def get_shop(shop_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
        return read(sh, q.get_shop, actor, shop_id)

    @app.post("/v1/shops/{shop_id}/status", tags=["shops"], response_model=ShopOut)
    def shop_status(shop_id: str, body: ShopStatusIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
        run(sh, c.SetShopStatus(shop_id, body.status, body.reason), actor)
        return read(sh, q.get_shop, actor, shop_id)

    @app.post("/v1/shops/{shop_id}/staff", tags=["shops"], status_code=201)
    def add_staff(shop_id: str, body: StaffIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, str]:
        run(sh, c.AddStaff(body.id, shop_id, body.role, body.name), actor)
        return {"id": body.id, "shop": shop_id, "role": body.role}

    @app.post("/v1/buyers", tags=["buyers"], status_code=201)
    def add_buyer(body: BuyerIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, str]:
        run(sh, c.AddBuyer(body.id, body.name), actor)
        return {"id": body.id}

    @app.post("/v1/tokens", tags=["meta"], status_code=201, response_model=TokenOut)
    def token(body: TokenIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, str]:
        return {"token": run(sh, c.IssueToken(body.kind, body.actor_id, body.role, body.label), actor)}

    # -- orders ---------------------------------------------------------------------------------
    @app.post("/v1/orders", tags=["orders"], status_code=201, response_model=OrderOut)
    def create_order(body: OrderIn, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
        order_id = run(sh, c.ImportOrder(
            id=body.id, shop_id=body.shop, buyer_id=body.buyer, amount_fen=parse_yuan(body.amount),
            freight_fen=parse_yuan(body.freight), payment=body.payment, kind=body.kind, marketing=body.marketing,
            goods=body.goods, category=body.category, no_reason_return=body.no_reason_return,
            commission=dict(body.commission), created_at=body.created_at, shipped_at=body.shipped_at,
            signed_at=body.signed_at, confirmed_at=body.confirmed_at), actor)
        return read(sh, q.get_order, actor, order_id, now)

    @app.get("/v1/orders/{order_id}", tags=["orders"], response_model=OrderOut)
    def get_order(order_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
        return read(sh, q.get_order, actor, order_id, now)

    @app.get("/v1/orders/{order_id}/events", tags=["orders"], response_model=list[EventOut])
    def order_events(order_id: str, sh: ShouhouDep, actor: ActorDep) -> list[dict[str, Any]]:
        return read(sh, q.order_events, actor, order_id)

    def order_view(sh: Shouhou, actor: Actor, order_id: str, now: datetime) -> dict[str, Any]:
        return read(sh, q.get_order, actor, order_id, now)

    order_actions = APIRouter(tags=["orders"])

    def order_action(path: str, make: MakeCommand, body_model: type[BaseModel] | None, summary: str) -> None:
        action_route(order_actions, f"/v1/orders/{{order_id}}/{path}", make, body_model, summary,
                     view=order_view, response_model=OrderOut, name=f"order_{path}")

    order_action("ship", lambda i, b: c.ShipOrder(i, b.carrier, b.waybill), ShipIn, "Ship (shop staff)")
    order_action("sign", lambda i, b: c.SignOrder(i), None, "Signed for (carrier callback, platform)")
    order_action("confirm", lambda i, b: c.ConfirmOrder(i), None, "Confirm receipt (buyer)")
    include(app, order_actions)

    @app.post("/v1/orders/{order_id}/tickets", tags=["tickets"], status_code=201, response_model=TicketOut,
              summary="Apply for after-sales (buyer)")
    def apply(order_id: str, body: ApplyIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
        ticket_id = run(sh, c.Apply(order_id, body.type, body.reason, yuan(body.amount), tuple(body.evidence),
                                    body.note), actor)
        return read(sh, q.get_ticket, actor, ticket_id)

    # -- tickets --------------------------------------------------------------------------------
    @app.get("/v1/tickets", tags=["tickets"], response_model=TicketPage,
             summary="The work queue: tickets you may see, soonest deadline first")
    def list_tickets(
        sh: ShouhouDep, actor: ActorDep,
        status: Annotated[list[str] | None, Query()] = None,
        type: str | None = None,  # noqa: A002 - the API's word
        over_period: bool | None = None, shop: str | None = None, order: str | None = None,
        due_before: When | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        statuses = [x for part in (status or []) for x in part.split(",") if x]
        return read(sh, q.list_tickets, actor, statuses=statuses, type_=type,
                    over_period=over_period, shop=shop, order=order, due_before=due_before, limit=limit,
                    offset=offset)

    @app.get("/v1/tickets/{ticket_id}", tags=["tickets"], response_model=TicketOut,
             summary="A ticket with its timeline")
    def get_ticket(ticket_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
        return read(sh, q.get_ticket, actor, ticket_id)

    @app.get("/v1/tickets/{ticket_id}/events", tags=["tickets"], response_model=list[EventOut])
    def ticket_events(ticket_id: str, sh: ShouhouDep, actor: ActorDep) -> list[dict[str, Any]]:
        return read(sh, q.ticket_events, actor, ticket_id)

    def ticket_view(sh: Shouhou, actor: Actor, ticket_id: str, now: datetime) -> dict[str, Any]:
        return read(sh, q.get_ticket, actor, ticket_id)

    ticket_actions = APIRouter(tags=["tickets"])

    def ticket_action(path: str, make: MakeCommand, body_model: type[BaseModel] | None, summary: str) -> None:
        action_route(ticket_actions, f"/v1/tickets/{{ticket_id}}/{path}", make, body_model, summary,
                     view=ticket_view, response_model=TicketOut, name=f"ticket_{path.replace('-', '_')}")

    ticket_action("cancel", lambda i, b: c.Cancel(i), None, "Cancel (buyer)")
    ticket_action("approve", lambda i, b: c.Approve(i, b.return_address), ApproveIn, "Approve (shop)")
    ticket_action("reject", lambda i, b: c.Reject(i, b.reason, tuple(b.evidence)), ReasonIn,
                  "Reject with a reason (shop, KS-RR-4)")
    ticket_action("waybill", lambda i, b: c.SubmitWaybill(i, b.carrier, b.waybill), WaybillIn,
                  "Submit the return waybill (buyer)")
    ticket_action("confirm-return", lambda i, b: c.ConfirmReturn(i), None, "Confirm the returned goods (shop)")
    ticket_action("refuse-return", lambda i, b: c.RefuseReturn(i, b.reason, tuple(b.evidence)), ReasonIn,
                  "Refuse the returned parcel: a dispute for the platform (shop)")
    ticket_action("intervention", lambda i, b: c.RequestIntervention(i, b.reason), InterventionIn,
                  "Ask for platform intervention after a rejection or on a stalled exchange (buyer or shop)")
    ticket_action("ship-replacement", lambda i, b: c.ShipReplacement(i, b.carrier, b.waybill), WaybillIn,
                  "Ship the replacement, repaired item or reshipped goods (shop, GEN-EX-1/3)")
    ticket_action("sign-replacement", lambda i, b: c.SignReplacement(i), None,
                  "The replacement was signed for (carrier callback, platform)")
    ticket_action("confirm-replacement", lambda i, b: c.ConfirmReplacement(i), None,
                  "Confirm the replacement arrived (buyer)")
    ticket_action("refund-instead", lambda i, b: c.RefundInstead(i), None,
                  "Refund instead of exchanging (shop, GEN-EX-2)")
    ticket_action("intervention/respond", lambda i, b: c.RespondIntervention(i), None,
                  "Platform CS takes the case (KS-PI-1)")
    ticket_action("intervention/evidence-request", lambda i, b: c.RequestEvidence(i), None,
                  "Platform CS asks both sides for evidence (KS-PI-2, DY-PI-1)")
    ticket_action("intervention/ruling",
                  lambda i, b: c.Rule(i, b.in_favour_of, b.remedy, yuan(b.amount), b.fault), RulingIn,
                  "Platform CS rules, naming who was at fault (KS-PI-2)")
    include(app, ticket_actions)

    @app.post("/v1/tickets/{ticket_id}/intervention/evidence", tags=["intervention"], status_code=201,
              response_model=CaseOut, summary="Submit evidence (buyer or shop), stored by SHA-256")
    def submit_evidence(ticket_id: str, body: EvidenceIn, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
        files = []
        for item in body.items:
            try:
                content = base64.b64decode(item.content_base64, validate=True)
            except (binascii.Error, ValueError):
                raise refuse("invalid_input", f"{item.name}:content_base64 不是有效的 base64",
                             f"{item.name}: content_base64 is not valid base64") from None
            files.append(c.EvidenceFile(item.name, item.content_type, content))
        run(sh, c.SubmitEvidence(ticket_id, tuple(files)), actor)
        return read(sh, q.get_case, actor, ticket_id, now)

    @app.get("/v1/tickets/{ticket_id}/intervention", tags=["intervention"], response_model=CaseOut,
             summary="The ticket's intervention: deadlines, evidence, ruling, appeals")
    def get_case(ticket_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
        return read(sh, q.get_case, actor, ticket_id, now)

    @app.get("/v1/evidence/{evidence_id}/content", tags=["intervention"], summary="Download a piece of evidence")
    def evidence_content(evidence_id: str, sh: ShouhouDep, actor: ActorDep) -> Response:
        item = read(sh, q.evidence_content, actor, evidence_id)
        return Response(sh.blobs.get(item.blob_key), media_type=item.content_type,
                        headers={"X-Content-SHA256": item.sha256})

    @app.post("/v1/tickets/{ticket_id}/appeals", tags=["intervention"], status_code=201, response_model=AppealOut,
              summary="Appeal a ruling against the shop within 48 h of the refund (KS-PI-3)")
    def file_appeal(ticket_id: str, body: AppealIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
        appeal_id = run(sh, c.FileAppeal(ticket_id, body.reason), actor)
        return read(sh, q.get_appeal, actor, appeal_id)

    @app.get("/v1/appeals", tags=["intervention"], response_model=AppealPage,
             summary="Appeals by answer deadline (platform: all; shop: its own)")
    def appeals(sh: ShouhouDep, actor: ActorDep, status: str | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                offset: Offset = 0) -> dict[str, Any]:
        return read(sh, q.list_appeals, actor, status, limit, offset)

    @app.post("/v1/appeals/{appeal_id}/decision", tags=["intervention"], response_model=AppealOut,
              summary="Uphold or reject an appeal (platform, KS-PI-3)")
    def decide_appeal(appeal_id: str, body: AppealDecisionIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
        run(sh, c.DecideAppeal(appeal_id, body.upheld, body.answer, body.fault_after), actor)
        return read(sh, q.get_appeal, actor, appeal_id)

    @app.get("/v1/platform/interventions", tags=["intervention"], response_model=CasePage,
             summary="The platform console: open cases by response deadline, SLA misses flagged (KS-PI-1)")
    def platform_interventions(sh: ShouhouDep, actor: ActorDep, now: NowDep, status: str | None = None,
                               sla_missed: bool | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                               offset: Offset = 0) -> dict[str, Any]:
        return read(sh, q.platform_interventions, actor, now, status, sla_missed,
                    limit, offset)

    # -- the over-period entry (超售后期打开售后入口) ------------------------------------------------
    @app.get("/v1/orders/{order_id}/entry", tags=["entry"], response_model=EntryOut,
             summary="The entry's state and every condition of opening it, with rule, figures and why")
    def get_entry(order_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
        return read(sh, q.entry_view, actor, order_id, sh.policies, now)

    @app.post("/v1/orders/{order_id}/entry/open", tags=["entry"], response_model=EntryOut,
              summary="Open the entry past the period (owner, admin, CS admin on Kuaishou: KS-OP-6)")
    def open_entry(order_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
        run(sh, c.OpenEntry(order_id), actor)
        return read(sh, q.entry_view, actor, order_id, sh.policies, now)

    @app.post("/v1/entries/open", tags=["entry"], response_model=BulkOpenOut,
              summary="Open the entry of many orders: each its own result")
    def open_entries(body: BulkOpenIn, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
        results = []
        for order_id, (_, refusal) in zip(body.orders, sh.handle_each([c.OpenEntry(o) for o in body.orders], actor),
                                           strict=True):
            if refusal is None:
                view = read(sh, q.entry_view, actor, order_id, sh.policies, now)
                results.append({"order": order_id, "ok": True, "closes_at": view["closes_at"]})
            else:
                results.append({"order": order_id, "ok": False, "error": refusal.as_dict()})
        opened = sum(1 for r in results if r["ok"])
        return {"opened": opened, "refused": len(results) - opened, "results": results}

    @app.post("/v1/orders/{order_id}/entry/requests", tags=["entry"], status_code=201, response_model=ReopenOut,
              summary="Ask the shop to open the entry again (buyer, DY-OP-6)")
    def request_reopen(order_id: str, body: ReopenIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
        req_id = run(sh, c.RequestReopen(order_id, body.note), actor)
        return read(sh, q.get_reopen_request, actor, req_id)

    @app.get("/v1/reopen-requests", tags=["entry"], response_model=ReopenPage,
             summary="Buyers' requests to open the entry: the shop's queue")
    def reopen_requests(sh: ShouhouDep, actor: ActorDep, status: str | None = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 50,
                        offset: Offset = 0) -> dict[str, Any]:
        return read(sh, q.list_reopen_requests, actor, status, limit, offset)

    @app.post("/v1/reopen-requests/{request_id}/decline", tags=["entry"], response_model=ReopenOut,
              summary="Decline a buyer's request with a reason (shop)")
    def decline(request_id: str, body: DeclineIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
        run(sh, c.DeclineReopen(request_id, body.reason), actor)
        return read(sh, q.get_reopen_request, actor, request_id)

    @app.get("/v1/messages", tags=["entry"], response_model=MessagePage, summary="The buyer's site messages (站内信)")
    def messages(sh: ShouhouDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 offset: Offset = 0) -> dict[str, Any]:
        return read(sh, q.list_messages, actor, limit, offset)

    # -- money (RULES §8, KS-EXIT-1) -----------------------------------------------------------
    @app.get("/v1/shops/{shop_id}/balances", tags=["money"], response_model=BalancesOut)
    def balances(shop_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
        return read(sh, q.shop_balances, actor, shop_id)

    @app.get("/v1/shops/{shop_id}/statement", tags=["money"], response_model=StatementOut,
             responses={200: {"content": {"text/csv": {}}}},
             summary="Journal lines on the shop's wallet, deposit and debt; format=csv to export")
    def statement(shop_id: str, sh: ShouhouDep, actor: ActorDep, account: str | None = None,
                  kind: str | None = None, order: str | None = None, since: When | None = None,
                  until: When | None = None, format: str = "json",  # noqa: A002 - the API's word
                  limit: Annotated[int | None, Query(ge=1, le=10_000, description="JSON: 200 unless given; "
                                                    "CSV: every line unless given")] = None,
                  offset: Offset = 0) -> Any:
        if format not in ("json", "csv"):
            raise refuse("invalid_input", "format 须为 json 或 csv", "format must be json or csv")
        if limit is None and format == "json":
            limit = 200
        view = read(sh, q.statement, actor, shop_id, account=account, kind=kind, order=order, since=since,
                    until=until, limit=limit, offset=offset)
        if format == "csv":
            return Response(q.statement_csv(view), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="statement-{shop_id}.csv"',
                                     "X-Total-Count": str(view["total"])})
        return view

    @app.post("/v1/shops/{shop_id}/top-up", tags=["money"], response_model=BalancesOut,
              summary="Pay into the wallet or deposit; debt is recovered first")
    def top_up(shop_id: str, body: TopUpIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
        run(sh, c.TopUp(shop_id, body.account, parse_yuan(body.amount)), actor)
        return read(sh, q.shop_balances, actor, shop_id)

    @app.get("/v1/shops/{shop_id}/exit-check", tags=["money"], response_model=ExitCheckOut,
             summary="KS-EXIT-1: what still blocks exit or deposit withdrawal")
    def exit_check(shop_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
        return read(sh, q.exit_check_view, actor, shop_id, sh.policies, now)

    @app.post("/v1/shops/{shop_id}/deposit/withdraw", tags=["money"], response_model=BalancesOut,
              summary="Withdraw the deposit (owner), only when the exit check passes")
    def withdraw(shop_id: str, body: WithdrawIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
        run(sh, c.WithdrawDeposit(shop_id, parse_yuan(body.amount)), actor)
        return read(sh, q.shop_balances, actor, shop_id)

    from .governance import add_routes  # RULES §9; imported here because it uses this module's helpers
    add_routes(app)
    return app
