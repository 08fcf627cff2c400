"""One settings object for the whole server, read from ``FITROOM_*`` environment variables.

The CLI mirrors the most used settings as flags and passes them in as overrides, so a
flag and its variable can never disagree on a name or a default.
"""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Server configuration. Every field is ``FITROOM_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="FITROOM_", extra="ignore")

    # --- where things live ------------------------------------------------------------
    data_dir: Path = Field(Path("fitroom-data"), description="Database, blobs and secret live here.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file in the data dir."
    )
    secret_key: str | None = Field(
        None, description="HMAC key for signed URLs; default: generated once into the data dir."
    )

    # --- HTTP ---------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = Field(
        None, description="Base of the URLs handed to clients; default http://HOST:PORT."
    )
    max_body_bytes: int = Field(40 * 1024 * 1024, description="Requests larger than this are refused.")

    # --- workers ------------------------------------------------------------------------
    workers: int = Field(
        -1, description="In-process job runners in `serve`; -1 = one per CPU core, 0 = none."
    )
    lease_seconds: float = Field(20.0, description="A running job's lease; renewed while it runs.")
    max_attempts: int = Field(3, description="Runs a job gets before it fails for good.")
    job_timeout_seconds: float = Field(300.0, description="A run longer than this times out.")
    poll_interval_seconds: float = Field(0.2, description="How often an idle worker looks for jobs.")

    # --- keys, limits, credits ------------------------------------------------------------
    polling_requires_key: bool = False
    submit_rate: int = 50
    submit_period_seconds: float = 60.0
    poll_rate: int = 50
    poll_period_seconds: float = 10.0
    concurrency_limit: int = 6
    cost_rvton: int = 1
    cost_glasses: int = 1
    cost_fashn: int = 1
    cost_pixelcut: int = 1

    # --- images ------------------------------------------------------------------------
    url_allowlist: str = Field(
        "", description="Comma-separated hosts or CIDRs that URL inputs may reach although internal."
    )
    fetch_connect_timeout: float = 5.0
    fetch_read_timeout: float = 15.0
    fetch_max_redirects: int = 3
    max_image_pixels: int = Field(40_000_000, description="Decompression-bomb cap, checked before decoding.")

    # --- results -----------------------------------------------------------------------
    result_url_ttl_seconds: int = Field(3600, description="Signed result URLs expire after this.")
    retention_hours: float = Field(72.0, description="Inputs and outputs are deleted after this.")
    pixelcut_wait_seconds: float = Field(120.0, description="wait_for_result gives up (202) after this.")

    # --- engines -------------------------------------------------------------------------
    clothing_engine: str = "cpu-clothing"
    glasses_engine: str = "cpu-glasses"

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
