"""One typed settings class: refuses bad configuration at start."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

RATE = r"^\s*[1-9][0-9]*\s*(/|per)\s*([1-9][0-9]*\s*)?(second|minute|hour|day)s?\s*$"  # as `limits` reads it


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHOU_", extra="ignore")

    database_url: str = Field(default="sqlite:///shouhou.db", description="SQLAlchemy URL")
    policy_paths: list[str] = Field(default_factory=list, description="extra policy pack files (JSON list)")
    worker_interval: float = Field(default=1.0, gt=0, description="seconds between deadline sweeps")
    worker_batch: int = Field(default=200, gt=0, le=10_000)
    blob_dir: str = Field(default="blobs", description="folder where evidence files are kept (by SHA-256)")
    calendar_file: str | None = Field(
        default=None, description="TOML file with the official holidays and adjusted working days of years the "
                                  "installed chinesecalendar does not know yet")
    fake_channel_fail_buyers: list[str] = Field(
        default_factory=list,
        description="buyers whose accounts the fake payment channel refuses (JSON list), to rehearse DY-OP-9")
    max_body_bytes: int = Field(
        default=1_048_576, gt=0, le=1_073_741_824,
        description="largest request body the API reads (JSON); evidence uploads have the packs' own limit")
    rate_limit: str = Field(default="600/minute", pattern=RATE, description="requests per token, e.g. 600/minute")
    auth_rate_limit: str = Field(default="30/minute", pattern=RATE,
                                 description="failed authentications per client address, then 429s")
    webhook_allow_private: bool = Field(
        default=False, description="let webhook endpoints be on loopback or private addresses (your own network)")
    token_cache_seconds: float = Field(
        default=5.0, ge=0, le=300,
        description="how long an API process keeps a bearer token it has read (0: never): a token revoked through "
                    "another process (another serve worker, the CLI) still works for at most this long")
    db_pool_size: int = Field(
        default=16, ge=1, le=200,
        description="database connections an API process keeps open (as many again at a peak): below the requests "
                    "in flight, each extra one opened and closed a connection per request")
    access_log: bool = Field(default=True, description="the API logs one JSON line per request, with its id")
    cors_origins: list[str] = Field(
        default_factory=list, description="origins a browser may call the API from (JSON list); empty: CORS off")

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        if v.startswith("postgres://"):
            v = "postgresql://" + v[len("postgres://"):]
        if v.startswith("postgresql://"):
            v = "postgresql+psycopg://" + v[len("postgresql://"):]
        if not (v.startswith("sqlite://") or v.startswith("postgresql+psycopg://")):
            raise ValueError("SHOUHOU_DATABASE_URL must be a sqlite:/// or postgresql:// URL")
        return v
