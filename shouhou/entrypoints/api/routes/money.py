"""Money (RULES §8, KS-EXIT-1): a shop's balances and statement (JSON or CSV), top-ups, the exit
check and deposit withdrawal."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ....errors import refuse
from ....services import commands as c
from ....services.views import money as money_views
from ..deps import ActorDep, NowDep, ShouhouDep, read, run
from ..responses import utf8
from ..schemas.common import FORMATS, Offset, OneOf, Text, When
from ..schemas.money import BalancesOut, ExitCheckOut, StatementOut, TopUpIn, WithdrawIn

router = APIRouter(tags=["money"])


@router.get("/v1/shops/{shop_id}/balances", response_model=BalancesOut)
def balances(shop_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return read(sh, money_views.shop_balances, actor, shop_id)


@router.get("/v1/shops/{shop_id}/statement", response_model=StatementOut,
            responses={200: {"content": {"text/csv": {}}}},
            summary="Journal lines on the shop's wallet, deposit and debt; format=csv to export")
def statement(shop_id: str, sh: ShouhouDep, actor: ActorDep,
              account: Annotated[str, Text(32), OneOf(money_views.STATEMENT_ACCOUNTS)] | None = None,
              kind: Annotated[str, Text(32)] | None = None, order: Annotated[str, Text(64)] | None = None,
              since: When | None = None, until: When | None = None,
              format: Annotated[str, Text(8), OneOf(FORMATS)] = "json",  # noqa: A002 - the API's word
              limit: Annotated[int | None, Query(ge=1, le=10_000, description="JSON: 200 unless given; "
                                                "CSV: every line unless given")] = None,
              offset: Offset = 0) -> Any:
    if format not in ("json", "csv"):
        raise refuse("invalid_input", "format 须为 json 或 csv", "format must be json or csv")
    if limit is None and format == "json":
        limit = 200
    view = read(sh, money_views.statement, actor, shop_id, account=account, kind=kind, order=order, since=since,
                until=until, limit=limit, offset=offset)
    if format == "csv":
        return Response(utf8(money_views.statement_csv(view)), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="statement-{shop_id}.csv"',
                                 "X-Total-Count": str(view["total"])})
    return view


@router.post("/v1/shops/{shop_id}/top-up", response_model=BalancesOut,
             summary="Pay into the wallet or deposit; debt is recovered first")
def top_up(shop_id: str, body: TopUpIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    run(sh, c.TopUp(shop_id, body.account, body.amount), actor)
    return read(sh, money_views.shop_balances, actor, shop_id)


@router.get("/v1/shops/{shop_id}/exit-check", response_model=ExitCheckOut,
            summary="KS-EXIT-1: what still blocks exit or deposit withdrawal")
def exit_check(shop_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
    return read(sh, money_views.exit_check_view, actor, shop_id, sh.policies, now)


@router.post("/v1/shops/{shop_id}/deposit/withdraw", response_model=BalancesOut,
             summary="Withdraw the deposit (owner), only when the exit check passes")
def withdraw(shop_id: str, body: WithdrawIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    run(sh, c.WithdrawDeposit(shop_id, body.amount), actor)
    return read(sh, money_views.shop_balances, actor, shop_id)
