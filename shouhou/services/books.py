"""Posting to the journal inside one unit of work (RULES §8), shared by money and governance: every
entry balanced (domain.ledger), and the shop's cached balances kept equal to the sums of their lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..adapters.uow import SqlUnitOfWork
from ..domain import ledger as L


class Books:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def balance(self, account: str) -> int:
        return self.uow.balance(account)

    def post(self, e: L.Entry | None) -> L.Entry | None:
        if e is None:
            return None
        self.uow.journal.append(e)
        for line in e.lines:
            kind, _, shop_id = line.account.partition(":")
            if kind in ("wallet", "deposit", "debt"):
                shop = self.uow.shops.get(shop_id)
                if shop is None:
                    continue
                if kind == "wallet":
                    shop.wallet_fen += line.amount
                elif kind == "deposit":
                    shop.deposit_fen += line.amount
                else:
                    shop.debt_fen -= line.amount
        return e

    def waterfall(self, shop_id: str, amount: int, order: Sequence[str]) -> list[tuple[str, str, int]]:
        """What the shop pays `amount` from, at its balances now: wallet -> deposit -> the platform's
        advance, in the pack's order (DY-OP-9); (source, account, fen) per source used."""
        return L.waterfall(shop_id, amount, self.balance(L.wallet(shop_id)), self.balance(L.deposit(shop_id)),
                           tuple(order))

    def pay_shop(self, shop_id: str, amount: int, into: str, at: datetime, source: str, kind: str,
                 **kw: Any) -> int:
        """Money for a shop from `source`: its debt first, the rest `into` its wallet or deposit.
        Returns how much went to the debt."""
        repay_moves, rest = L.recover_debt(shop_id, self.balance(L.debt(shop_id)), amount)
        target = L.wallet(shop_id) if into == "wallet" else L.deposit(shop_id)
        self.post(L.entry(kind, at, [(source, -amount), *repay_moves, (target, rest)], shop_id=shop_id, **kw))
        return amount - rest
