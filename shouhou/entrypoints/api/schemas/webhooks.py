"""Webhook endpoints, their deliveries, and the event feed."""

from typing import Annotated, Any

from pydantic import BaseModel, Field

from .common import Body, Id, Line, Text, When

EventType = Annotated[str, Text(40, min_length=1)]
Url = Annotated[str, Text(2048, min_length=1)]


class EndpointIn(Body):
    url: Url = Field(examples=["https://example.com/hooks/shouhou"])
    events: list[EventType] | None = Field(default=None, max_length=100, examples=[["refunded", "approved"]])
    description: Line | None = Field(default=None, examples=["订单中心"])
    shop: Id | None = Field(examples=["S1"], default=None, description="platform only: the shop whose events it receives")


class EndpointPatch(Body):
    url: Url | None = Field(default=None, examples=["https://example.com/hooks/shouhou"])
    events: list[EventType] | None = Field(examples=[["refunded", "auto_approved"]], default=None, max_length=100)
    description: Line | None = Field(default=None, examples=["订单中心"])
    enabled: bool | None = None


class RedeliverIn(Body):
    since: When = Field(examples=["2026-03-01T00:00:00+08:00"])


class EndpointOut(BaseModel):
    id: str
    shop: str | None
    url: str
    events: list[str] | None
    description: str | None
    enabled: bool
    disabled_reason: str | None
    failing_since: str | None
    created_at: str
    updated_at: str
    previous_secret_until: str | None
    secret: str | None = Field(default=None, description="only when made: on creation and rotation",
                               examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class EndpointPage(BaseModel):
    items: list[EndpointOut]
    total: int
    limit: int
    offset: int


class AttemptOut(BaseModel):
    at: str
    status_code: int | None
    latency_ms: int
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    endpoint: str
    message_id: str
    type: str
    status: str = Field(examples=["delivered"], json_schema_extra={"enum": ["pending", "delivered", "failed"]})
    attempts: int
    next_try_at: str | None
    created_at: str
    delivered_at: str | None
    attempt_log: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int
    limit: int
    offset: int


class MessageOut(BaseModel):
    id: str = Field(examples=["msg_42"])
    type: str = Field(examples=["auto_approved"], description="see GET /v1/event-types")
    version: int = Field(examples=[1], description="the version of the type's payload")
    timestamp: str
    data: dict[str, Any]
    cursor: str


class FeedPage(BaseModel):
    items: list[MessageOut]
    next: str
    has_more: bool


class EventTypeOut(BaseModel):
    type: str = Field(examples=["auto_approved"])
    version: int = Field(examples=[1])
    summary_zh: str
    summary_en: str
    rules: list[str] = Field(examples=[["KS-RR-1", "DY-RR-1"]])
    actors: list[str] = Field(examples=[["system"]])
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema",
                                    description="JSON Schema (draft 2020-12) of the whole message")


class EventTypePage(BaseModel):
    items: list[EventTypeOut]
    total: int
    limit: int
    offset: int
