"""One settings object for the whole server, read from ``FITROOM_*`` environment variables.

The CLI mirrors the most used settings as flags and passes them in as overrides, so a
flag and its variable can never disagree on a name or a default.
"""

from __future__ import annotations

import json
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _names(value: Any) -> Any:
    """A list from ``a,b`` (the environment's and the CLI's form) or from JSON."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _pairs(value: Any) -> Any:
    """A mapping from ``k=v,k=v`` or from a JSON object."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            return json.loads(text)
        pairs = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, item = part.partition("=")
            if not sep:
                raise ValueError(f"expected KEY=VALUE, got {part!r}")
            pairs[key.strip()] = item.strip()
        return pairs
    return value


Names = Annotated[list[str], NoDecode, BeforeValidator(_names)]
Pairs = Annotated[dict[str, str], NoDecode, BeforeValidator(_pairs)]
Prices = Annotated[dict[str, int], NoDecode, BeforeValidator(_pairs)]


class Settings(BaseSettings):
    """Server configuration. Every field is ``FITROOM_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="FITROOM_", extra="ignore")

    # --- where things live ------------------------------------------------------------
    data_dir: Path = Field(Path("fitroom-data"), description="Database, blobs and secret live here.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file in the data dir.")
    storage_url: str | None = Field(
        None,
        description="Where inputs and results live: file:///path or s3://bucket/prefix (endpoint, region and "
        "credentials from the standard AWS variables); default: the data dir's blobs folder.",
    )
    result_urls: Literal["signed", "presigned"] = Field(
        "signed",
        description="Result URLs: this server's signed /files URLs (signed) or the object store's own presigned "
        "GET URLs (presigned, s3:// storage only).",
    )
    secret_key: str | None = Field(
        None, description="HMAC key for signed URLs; default: generated once into the data dir."
    )

    # --- HTTP ---------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Bind address.")
    port: int = Field(8000, description="Port.")
    public_base_url: str | None = Field(
        None, description="Base of the URLs handed to clients; default http://HOST:PORT."
    )
    max_body_bytes: int = Field(40 * 1024 * 1024, description="Requests larger than this are refused.")
    access_log: bool = Field(
        False, description="Log every request (uvicorn's access log); off, it costs a poll a sixth of its CPU."
    )
    api_workers: int = Field(
        1, description="API processes serving the port (serve); more than 1 needs FITROOM_REDIS_URL for shared limits."
    )

    # --- workers ------------------------------------------------------------------------
    workers: int = Field(
        -1, description="Engine processes per CPU lane (serve, worker); -1 = one per core, 0 = no lanes (API only)."
    )
    lease_seconds: float = Field(20.0, description="A running job's lease; renewed while it runs.")
    max_attempts: int = Field(3, description="Runs a job gets before it fails for good.")
    job_timeout_seconds: float = Field(300.0, description="A run longer than this times out.")
    poll_interval_seconds: float = Field(0.2, description="How often an idle worker looks for jobs.")

    # --- keys, limits, credits ------------------------------------------------------------
    redis_url: str | None = Field(
        None,
        description="redis://host:port/db: rate limits shared by every API process and server, and job "
        "wake-ups across processes; without it each process counts on its own and waiters poll the store.",
    )
    polling_requires_key: bool = Field(
        False, description="Make the two keyless Pixazo polling endpoints require a key."
    )
    submit_rate: int = Field(50, description="Per-key submits per SUBMIT_PERIOD_SECONDS (token bucket).")
    submit_period_seconds: float = 60.0
    poll_rate: int = Field(50, description="Per-key polls per POLL_PERIOD_SECONDS (token bucket).")
    poll_period_seconds: float = 10.0
    concurrency_limit: int = Field(6, description="Per-key jobs queued or running at once.")
    prices: Prices = Field(
        default_factory=dict,
        description="Credits per output image by dialect (rvton, glasses, fashn, fashn_gateway, pixelcut), "
        "e.g. fashn=2,pixelcut=1; a dialect not named charges its own default (1 for all five).",
    )
    # Older names of ``prices`` entries, still honoured.
    cost_rvton: int | None = Field(None, description="Alias of prices rvton=N.")
    cost_glasses: int | None = Field(None, description="Alias of prices glasses=N.")
    cost_fashn: int | None = Field(None, description="Alias of prices fashn=N and fashn_gateway=N.")
    cost_pixelcut: int | None = Field(None, description="Alias of prices pixelcut=N.")

    # --- images ------------------------------------------------------------------------
    url_allowlist: str = Field(
        "", description="Comma-separated hosts or CIDRs that URL inputs may reach although internal."
    )
    fetch_connect_timeout: float = Field(5.0, description="Seconds to connect when fetching an image URL.")
    fetch_read_timeout: float = Field(15.0, description="Seconds between bytes when fetching an image URL.")
    fetch_max_redirects: int = 3
    max_image_pixels: int = Field(40_000_000, description="Decompression-bomb cap, checked before decoding.")

    # --- results -----------------------------------------------------------------------
    result_url_ttl_seconds: int = Field(3600, description="Signed result URLs expire after this.")
    retention_hours: float = Field(72.0, description="Inputs and outputs are deleted after this.")
    pixelcut_wait_seconds: float = Field(120.0, description="wait_for_result gives up (202) after this.")

    # --- engines and lanes -----------------------------------------------------------------
    engines: Names | None = Field(
        None,
        description="Engines this process runs a lane for (serve, worker), e.g. cpu-clothing,cpu-glasses; "
        "default: every engine that is ready on this machine.",
    )
    routes: Pairs = Field(
        default_factory=dict,
        description="Which engine runs which jobs: KIND=ENGINE or DIALECT:KIND=ENGINE, e.g. "
        "fashn:clothing=fashn-vton-1.5; unrouted kinds go to the CPU engines.",
    )
    engine_modules: Names = Field(
        default_factory=list, description="Extra modules that register engines (plugins, the test engines)."
    )
    engine_niceness: int = Field(
        10, description="Scheduling niceness added to engine processes, so the API stays responsive under load."
    )
    lane_heartbeat_seconds: float = Field(5.0, description="How often a worker reports its lanes as alive.")
    engine_logs: bool = Field(
        False, description="Show MediaPipe's and TensorFlow Lite's own log lines (hidden by default)."
    )
    # Older names of ``routes`` entries, still honoured.
    clothing_engine: str | None = Field(None, description="Alias of routes clothing=ENGINE.")
    glasses_engine: str | None = Field(None, description="Alias of routes glasses=ENGINE.")

    # --- FASHN VTON v1.5 ----------------------------------------------------------------
    vton_weights: Path | None = Field(
        None, description="Folder with the published model.safetensors and dwpose/*.onnx."
    )
    vton_device: str = Field("auto", description="auto (every GPU, else the CPU), cuda, or cpu.")

    # --- metrics -------------------------------------------------------------------------
    metrics_token: SecretStr | None = Field(
        None,
        description="Token (Authorization: Bearer) that opens /metrics to Prometheus; unset: /metrics answers 404.",
    )
    worker_metrics_port: int | None = Field(
        None, description="fitroom worker serves its own metrics (engine run times) on this port; unset: none."
    )
    worker_metrics_host: str = Field("127.0.0.1", description="Address the worker's metrics port binds to.")

    # --- operator view ------------------------------------------------------------------
    # A SecretStr, so that the token never shows in a repr, a log line or a traceback.
    admin_token: SecretStr | None = Field(
        None,
        description="Token (sent as Authorization: Bearer) that opens the operator view at /admin; "
        "unset or empty: /admin answers 404.",
    )

    def price(self, dialect: str, default: int) -> int:
        """Credits one output image costs on ``dialect``: its entry in ``prices``, else
        its older ``cost_*`` setting, else ``default`` (the dialect's own price)."""
        aliases = {
            "rvton": self.cost_rvton,
            "glasses": self.cost_glasses,
            "fashn": self.cost_fashn,
            "fashn_gateway": self.cost_fashn,
            "pixelcut": self.cost_pixelcut,
        }
        if dialect in self.prices:
            return self.prices[dialect]
        alias = aliases.get(dialect)
        return alias if alias is not None else default

    @field_validator("storage_url")
    @classmethod
    def _storage_url_form(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if (parts.scheme == "file" and parts.path) or (parts.scheme == "s3" and parts.netloc):
            return value
        raise ValueError("expected file:///path or s3://bucket/prefix")

    @model_validator(mode="after")
    def _presigned_needs_an_object_store(self) -> Settings:
        if self.result_urls == "presigned" and not (self.storage_url or "").startswith("s3://"):
            raise ValueError("FITROOM_RESULT_URLS=presigned needs FITROOM_STORAGE_URL=s3://bucket/prefix")
        return self

    @property
    def all_routes(self) -> dict[str, str]:
        """``routes`` with the older per-kind engine settings folded in."""
        older = {"clothing": self.clothing_engine, "glasses": self.glasses_engine}
        return {**{k: v for k, v in older.items() if v}, **self.routes}

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fitroom.db').resolve()}"

    @cached_property
    def resolved_secret_key(self) -> bytes:
        """The signing key: configured, or generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return path.read_text().strip().encode()

    @cached_property
    def resolved_base_url(self) -> str:
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @cached_property
    def worker_count(self) -> int:
        return (os.cpu_count() or 1) if self.workers < 0 else self.workers

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or self.blob_dir.resolve().as_uri()
