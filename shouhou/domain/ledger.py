"""Money (RULES §8): immutable, balanced journal entries in integer fen. Balances are derived from
the lines; nothing is changed in place.

Accounts are named `holder:id:purpose`:
- `channel` / `topup:{shop}`    money outside shouhou (the buyers' payment channel, a shop's bank) — clearing
- `opening`                     balances that existed before shouhou (clearing)
- `escrow:{order}`              an order's unsettled funds (GEN-ORD-3)
- `payable:{buyer}`             refunds owed to a buyer, until the channel pays them out
- `receivable:{buyer}`          negative: what a buyer owes the platform (a DY-FAST-1 advance the buyer
                                 was ruled not to deserve)
- `wallet:{shop}` `deposit:{shop}`  the shop's cash account (安心钱包/现金户) and security deposit (保证金)
- `debt:{shop}`                 negative: what the shop owes the platform after advance compensation
- `promoter:{role}:{id}`        creator (达人), group leader (团长), affiliate (快赚客)
- `platform:fee`                the platform's technical-service-fee income (TR)
- `platform:advance`            the platform's advance-compensation fund (先行赔付) — clearing
Clearing accounts, debt and buyers' receivables may go negative; no other account may.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

PROMOTER_ROLES = ("creator", "group_leader", "affiliate")
CLEARING = ("channel", "opening", "topup", "platform:advance")


def escrow(order_id: str) -> str:
    return f"escrow:{order_id}"


def wallet(shop_id: str) -> str:
    return f"wallet:{shop_id}"


def deposit(shop_id: str) -> str:
    return f"deposit:{shop_id}"


def debt(shop_id: str) -> str:
    return f"debt:{shop_id}"


def payable(buyer_id: str) -> str:
    return f"payable:{buyer_id}"


def receivable(buyer_id: str) -> str:
    return f"receivable:{buyer_id}"


def topup(shop_id: str) -> str:
    return f"topup:{shop_id}"


def promoter(role: str, ident: str) -> str:
    return f"promoter:{role}:{ident}"


CHANNEL = "channel"
OPENING = "opening"
FEE = "platform:fee"
ADVANCE = "platform:advance"


def may_go_negative(account: str) -> bool:
    return account.startswith(("channel", "opening", "topup:", "platform:advance", "debt:", "receivable:"))


class UnbalancedEntry(ValueError):
    pass


@dataclass(frozen=True)
class Line:
    account: str
    amount: int  # fen; positive: into the account


@dataclass(frozen=True)
class Entry:
    """One balanced journal entry: its lines add up to zero."""

    kind: str
    at: datetime
    lines: tuple[Line, ...]
    shop_id: str | None = None
    order_id: str | None = None
    ticket_id: str | None = None
    rule: str | None = None
    memo: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.lines:
            raise UnbalancedEntry(f"{self.kind}: an entry needs lines")
        if any(not isinstance(x.amount, int) or isinstance(x.amount, bool) for x in self.lines):
            raise UnbalancedEntry(f"{self.kind}: amounts are integer fen")
        total = sum(x.amount for x in self.lines)
        if total != 0:
            raise UnbalancedEntry(f"{self.kind}: lines add up to {total}, not 0")


def entry(kind: str, at: datetime, moves: Iterable[tuple[str, int]], **kw: Any) -> Entry | None:
    """Build an entry from (account, amount) moves, merging lines of one account and dropping zeros.
    None when nothing moves."""
    merged: dict[str, int] = {}
    for account, amount in moves:
        merged[account] = merged.get(account, 0) + amount
    lines = tuple(Line(a, v) for a, v in merged.items() if v != 0)
    return Entry(kind, at, lines, **kw) if lines else None


def rate(value: str | None) -> Decimal:
    return Decimal(value or "0")


def part(amount: int, r: Decimal) -> int:
    """amount × rate in fen, half-up."""
    return int((Decimal(amount) * r).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def pro_rata(whole: int, share: int, of: int) -> int:
    """share/of of `whole`, half-up (used to reverse a commission in proportion to a refund)."""
    if of <= 0:
        return 0
    return int((Decimal(whole) * Decimal(share) / Decimal(of)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Split:
    """How an amount divides between the shop, the promoters and the platform. The parts always add
    up to the whole."""

    shop: int
    promoters: dict[str, int]  # role -> fen
    fee: int

    @property
    def total(self) -> int:
        return self.shop + sum(self.promoters.values()) + self.fee


def split(amount: int, commission: Mapping[str, str]) -> Split:
    """GEN-ORD-3: promoters and the platform on `amount` (net of refunds), the shop the rest.
    Each cut is half-up, capped by what is left (on a few fen, rounding each cut up could otherwise
    take more than the whole); the shop's part takes the rounding, so the parts add up exactly."""
    left = amount
    promoters: dict[str, int] = {}
    for r in PROMOTER_ROLES:
        if rate(commission.get(r)):
            promoters[r] = min(part(amount, rate(commission.get(r))), left)
            left -= promoters[r]
    fee = min(part(amount, rate(commission.get("tech_fee"))), left)
    return Split(left - fee, promoters, fee)


def recover_debt(shop_id: str, debt_balance: int, incoming: int) -> tuple[list[tuple[str, int]], int]:
    """Money coming to a shop pays its debt first (RULES §8). Returns the moves to the debt account
    and what is left for the shop."""
    owed = max(-debt_balance, 0)
    repay = min(owed, incoming)
    moves = [(debt(shop_id), repay)] if repay else []
    return moves, incoming - repay


def waterfall(shop_id: str, amount: int, wallet_balance: int, deposit_balance: int,
              order: tuple[str, ...] = ("wallet", "deposit", "advance")) -> list[tuple[str, str, int]]:
    """DY-OP-9 (and the same for Kuaishou): a refund after settlement comes from the wallet, then the
    deposit, then the platform's advance compensation, which the shop then owes as debt.
    Returns (source, account, fen) for each source used."""
    left = amount
    out: list[tuple[str, str, int]] = []
    balances = {"wallet": wallet_balance, "deposit": deposit_balance}
    for source in order:
        if left <= 0:
            break
        if source in balances:
            take = min(max(balances[source], 0), left)
            if take:
                out.append((source, wallet(shop_id) if source == "wallet" else deposit(shop_id), take))
                left -= take
        elif source == "advance":
            out.append(("advance", ADVANCE, left))
            left = 0
    if left:
        raise ValueError("the refund waterfall must end with advance compensation")
    return out


@dataclass(eq=False)
class Payout:
    """Money on its way to the buyer's account through the payment channel: a refund (its id is the
    ticket's: one per refund) or what the shop pays beyond it (`<ticket>:<cause>`). The channel is
    asked with that id as its idempotency key."""

    id: str
    ticket_id: str
    order_id: str
    shop_id: str
    buyer_id: str
    amount_fen: int
    created_at: datetime
    status: str = "pending"  # pending | paid | compensated
    attempts: int = 0
    last_error: str | None = None
    channel_ref: str | None = None
    settled_at: datetime | None = None
    due_at: datetime | None = None
    rule: str | None = None


@dataclass(eq=False)
class Clawback:
    """Commission or technical fee to take back from a promoter or the platform for a refund
    (KS-FEE-1, KS-OP-8). All or nothing; a failed one waits `due_at` for its retry."""

    id: str
    ticket_id: str
    order_id: str
    shop_id: str
    account: str
    amount_fen: int
    rule: str
    created_at: datetime
    status: str = "pending"  # pending | done
    attempts: int = 0
    done_at: datetime | None = None
    due_at: datetime | None = None
