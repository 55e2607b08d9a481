"""The API's routes, one module per area, each with its `router`. ROUTERS is the order the app takes
them in: route order decides which route a path matches first, and the order of the OpenAPI paths."""

from fastapi import APIRouter

from . import (
    automation,
    complaints,
    disputes,
    entry,
    freight,
    governance,
    meta,
    money,
    operations,
    orders,
    policies,
    shops,
    tickets,
    tokens,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = (
    meta.router, policies.router, shops.router, tokens.router, orders.router, tickets.router, disputes.router,
    entry.router, complaints.router, freight.router, money.router, governance.router, automation.router,
    operations.router, webhooks.router,
)
