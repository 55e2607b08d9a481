"""Order lines and partial after-sales (GEN-APPLY-7).

An order's lines are a value: a tuple of frozen `OrderLine`s, each carrying what has been refunded
on it and what the open ticket holds on it. A ticket covers some lines and quantities (`Cover`).
What a line can still refund is what was paid for it less what was refunded and held; a ticket's
amount is spread over the lines it covers, never more on a line than that line can still refund;
what is left over (freight) stays on the order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

LINE_KINDS = ("goods", "accessory", "gift")


@dataclass(frozen=True)
class OrderLine:
    sku: str
    name: str
    qty: int
    price_fen: int  # unit price paid
    listed_price_fen: int
    kind: str = "goods"
    refunded_fen: int = 0
    held_fen: int = 0

    @property
    def paid_fen(self) -> int:
        return self.price_fen * self.qty

    @property
    def refundable_fen(self) -> int:
        """What this line can still refund: paid - refunded - held (never below 0)."""
        return max(self.paid_fen - self.refunded_fen - self.held_fen, 0)

    @property
    def qty_left(self) -> int:
        """Units not yet wholly refunded or held; a free line (a gift) always has all its units."""
        if self.price_fen == 0:
            return self.qty
        return max(self.qty - (self.refunded_fen + self.held_fen) // self.price_fen, 0)

    def cap_fen(self, qty: int) -> int:
        """What `qty` units of this line can still refund."""
        return min(self.price_fen * qty, self.refundable_fen)

    def as_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "name": self.name, "qty": self.qty, "price_fen": self.price_fen,
                "listed_price_fen": self.listed_price_fen, "kind": self.kind,
                "refunded_fen": self.refunded_fen, "held_fen": self.held_fen}

    @staticmethod
    def from_json(d: dict[str, Any]) -> OrderLine:
        return OrderLine(str(d["sku"]), str(d["name"]), int(d["qty"]), int(d["price_fen"]),
                         int(d["listed_price_fen"]), str(d.get("kind", "goods")),
                         int(d.get("refunded_fen", 0)), int(d.get("held_fen", 0)))


@dataclass(frozen=True)
class Cover:
    """What a ticket covers of one line."""
    sku: str
    qty: int

    def as_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "qty": self.qty}

    @staticmethod
    def from_json(d: dict[str, Any]) -> Cover:
        return Cover(str(d["sku"]), int(d["qty"]))


def default_line(sku: str, amount_fen: int, freight_fen: int) -> OrderLine:
    """GEN-APPLY-7: an order given without lines is one line of quantity 1, the amount less freight."""
    goods = amount_fen - freight_fen
    return OrderLine(sku=sku, name=sku, qty=1, price_fen=goods, listed_price_fen=goods)


def line_problems(lines: tuple[OrderLine, ...], amount_fen: int, freight_fen: int) -> list[tuple[str, str]]:
    """What is wrong with an order's lines, as (zh, en): unique SKUs, qty >= 1, prices >= 0, known
    kinds, and the lines' prices times quantities plus freight equal to the amount."""
    problems: list[tuple[str, str]] = []
    if not lines:
        problems.append(("订单至少有一行商品", "an order has at least one line"))
    seen: set[str] = set()
    for line in lines:
        if not line.sku:
            problems.append(("商品行须有 SKU", "a line needs a sku"))
        if line.sku in seen:
            problems.append((f"SKU {line.sku} 重复", f"sku {line.sku} appears twice"))
        seen.add(line.sku)
        if line.qty < 1:
            problems.append((f"SKU {line.sku} 数量须至少为 1", f"sku {line.sku}: qty must be >= 1"))
        if line.price_fen < 0 or line.listed_price_fen < 0:
            problems.append((f"SKU {line.sku} 价格不能为负", f"sku {line.sku}: prices must be >= 0"))
        if line.kind not in LINE_KINDS:
            problems.append((f"SKU {line.sku} 类型未知", f"sku {line.sku}: kind must be one of {list(LINE_KINDS)}"))
    total = sum(line.paid_fen for line in lines) + freight_fen
    if lines and total != amount_fen:
        problems.append(("各行单价乘数量加运费须等于订单金额",
                         f"lines' prices times quantities plus freight ({total} fen) must equal the amount "
                         f"({amount_fen} fen)"))
    return problems


def cover_problems(lines: tuple[OrderLine, ...], cover: tuple[Cover, ...]) -> list[tuple[str, str]]:
    """What is wrong with what a ticket asks to cover: an unknown SKU, a SKU twice, a qty < 1 or more
    than is left on its line."""
    by_sku = {line.sku: line for line in lines}
    problems: list[tuple[str, str]] = []
    if not cover:
        problems.append(("售后须至少包含一行商品", "a ticket covers at least one line"))
    seen: set[str] = set()
    for c in cover:
        line = by_sku.get(c.sku)
        if line is None:
            problems.append((f"订单没有 SKU {c.sku}", f"the order has no line with sku {c.sku!r}"))
            continue
        if c.sku in seen:
            problems.append((f"SKU {c.sku} 重复", f"sku {c.sku} appears twice"))
        seen.add(c.sku)
        if c.qty < 1 or c.qty > line.qty_left:
            problems.append((f"SKU {c.sku} 可申请数量为 1 至 {line.qty_left},申请了 {c.qty}",
                             f"sku {c.sku}: qty {c.qty} is not between 1 and the {line.qty_left} left"))
    return problems


def whole_cover(lines: tuple[OrderLine, ...]) -> tuple[Cover, ...]:
    """The default cover: every unit still left on every line."""
    return tuple(Cover(line.sku, line.qty_left) for line in lines if line.qty_left > 0)


def covers_everything(lines: tuple[OrderLine, ...], cover: tuple[Cover, ...]) -> bool:
    asked = {c.sku: c.qty for c in cover}
    return all(asked.get(line.sku, 0) >= line.qty_left for line in lines)


def cover_cap(lines: tuple[OrderLine, ...], cover: tuple[Cover, ...], order_refundable_fen: int) -> int:
    """What a ticket covering `cover` can refund at most: what those lines can still refund; when it
    covers every unit still left, also what is refundable beyond the lines (the freight)."""
    by_sku = {line.sku: line for line in lines}
    on_lines = sum(by_sku[c.sku].cap_fen(c.qty) for c in cover if c.sku in by_sku)
    if covers_everything(lines, cover):
        beyond = order_refundable_fen - sum(line.refundable_fen for line in lines)
        on_lines += max(beyond, 0)
    return min(on_lines, max(order_refundable_fen, 0))


def spread(amount_fen: int, lines: tuple[OrderLine, ...], cover: tuple[Cover, ...]) -> dict[str, int]:
    """Spread an amount over the covered lines in proportion to what each can refund (largest
    remainder, in cover order), never more on a line than its cap; what does not fit stays off the
    lines (freight)."""
    by_sku = {line.sku: line for line in lines}
    caps = [(c.sku, by_sku[c.sku].cap_fen(c.qty)) for c in cover if c.sku in by_sku]
    total = sum(cap for _, cap in caps)
    if total <= 0 or amount_fen <= 0:
        return {sku: 0 for sku, _ in caps}
    on_lines = min(amount_fen, total)
    shares = {sku: on_lines * cap // total for sku, cap in caps}
    rest = on_lines - sum(shares.values())
    for sku, cap in caps:
        if rest <= 0:
            break
        extra = min(rest, cap - shares[sku])
        shares[sku] += extra
        rest -= extra
    return shares


def with_held(lines: tuple[OrderLine, ...], held: dict[str, int]) -> tuple[OrderLine, ...]:
    return tuple(replace(line, held_fen=held.get(line.sku, 0)) for line in lines)


def with_refund(lines: tuple[OrderLine, ...], refunded: dict[str, int]) -> tuple[OrderLine, ...]:
    return tuple(replace(line, refunded_fen=line.refunded_fen + refunded.get(line.sku, 0)) for line in lines)
