"""Shops, their staff and buyers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SHOP_STATUSES = ("normal", "suspended", "closed")


@dataclass
class Shop:
    id: str
    name: str
    policy: str
    status: str
    wallet_fen: int
    deposit_fen: int
    wallet_opened_at: datetime
    created_at: datetime
    return_address: str | None = None
    debt_fen: int = 0  # cached from the ledger: what the shop owes the platform (>= 0)


@dataclass
class Staff:
    id: str
    shop_id: str
    role: str
    name: str


@dataclass
class Buyer:
    id: str
    name: str
