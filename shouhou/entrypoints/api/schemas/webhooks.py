"""Webhook endpoints, their deliveries, and the event feed."""

from typing import Annotated, Any

from pydantic import BaseModel, Field

from .common import Body, Id, Line, Text, When

EventType = Annotated[str, Text(40, min_length=1)]
Url = Annotated[str, Text(2048, min_length=1)]


class EndpointIn(Body):
    url: Url = Field(examples=["https://example.com/hooks/shouhou"])
    events: list[EventType] | None = Field(default=None, max_length=100, examples=[["refunded", "approved"]])
    description: Line | None = None
    shop: Id | None = Field(default=None, description="platform only: the shop whose events it receives")


class EndpointPatch(Body):
    url: Url | None = None
    events: list[EventType] | None = Field(default=None, max_length=100)
    description: Line | None = None
    enabled: bool | None = None


class RedeliverIn(Body):
    since: When


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
    type: str
    timestamp: str
    data: dict[str, Any]
    cursor: str


class FeedPage(BaseModel):
    items: list[MessageOut]
    next: str
    has_more: bool
