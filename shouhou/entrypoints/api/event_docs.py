"""The OpenAPI document's `webhooks` section (OpenAPI 3.1): one entry per event type, whose request
body is the JSON Schema of the message shouhou posts (shouhou.event_types), so that a generated
client and the docs page show every payload an integrator receives."""

from typing import Any

from fastapi import FastAPI

from ...event_types import catalogue, message_schema

RECEIVER_ANSWER = {"2XX": {"description": "Received. Anything else (or no answer within 10 s) is retried with "
                                          "backoff for about 3 days; an endpoint failing for 3 days is disabled."}}


def webhooks() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, t in sorted(catalogue().items()):
        schema = {k: v for k, v in message_schema(name).items() if k not in ("$schema", "$id")}
        cites = f" Cites {', '.join(t.rules)}." if t.rules else ""
        out[name] = {"post": {
            "operationId": f"webhook_{name}", "tags": ["events"], "summary": t.en,
            "description": f"{t.zh}. Payload version {t.version}; acted by {', '.join(t.actors)}.{cites} "
                           "Headers: webhook-id (the message id, the same on every try), webhook-timestamp, "
                           "webhook-signature (Standard Webhooks, HMAC-SHA256 with the endpoint's whsec_ secret).",
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
            "responses": RECEIVER_ANSWER}}
    return out


def install(app: FastAPI) -> None:
    """Adds the webhooks section to the document FastAPI builds (once, then cached like it)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema["webhooks"] = webhooks()
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
