"""Operations: health and parked actions."""

from pydantic import BaseModel


class WorkerOut(BaseModel):
    worker: str
    last_sweep_at: str
    seconds_ago: float
    last_fired: int
    fired_total: int


class HealthOut(BaseModel):
    status: str
    now: str
    last_sweep_at: str | None
    workers: list[WorkerOut]
    due: int
    due_by_kind: dict[str, int]
    payouts_due: int
    parked: int


class ParkedOut(BaseModel):
    kind: str
    id: str
    error: str
    attempts: int
    first_failed_at: str
    last_failed_at: str
    next_try_at: str


class ParkedPage(BaseModel):
    items: list[ParkedOut]
    total: int
    limit: int
    offset: int
