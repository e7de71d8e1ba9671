"""Settings, read once at start from ``TOCSIN_*`` environment variables and an optional TOML file.

Precedence: explicit overrides (command-line flags) > environment > TOML file > defaults.
The TOML file is named by ``TOCSIN_CONFIG`` and uses the same names without the prefix,
in lower case (``database_url = "postgresql://..."``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

SECRET_FILE = "jwt-secret"
BROKER_SCHEMES = ("memory://", "redis://", "rediss://", "unix://", "nats://", "tls://")


class Settings(BaseSettings):
    """Everything an operator can set. Immutable once loaded."""

    model_config = SettingsConfigDict(env_prefix="TOCSIN_", frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    data_dir: Path = Path("data")
    database_url: str = ""
    broker_url: str = "memory://"
    broker_channel: str = Field("tocsin.deliveries", pattern=r"^[A-Za-z0-9_.:-]{1,200}$")
    broker_gap_seconds: float = Field(0.5, gt=0, le=60)
    workers: int = Field(1, ge=1, le=64)
    jwt_secret: str = ""
    jwt_algorithms: Annotated[tuple[str, ...], NoDecode] = ("HS256",)
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    demo: bool = False
    log_level: str = "info"
    access_log: bool = True
    heartbeat_seconds: float = Field(25.0, gt=0, le=3600)
    auth_timeout_seconds: float = Field(10.0, gt=0, le=600)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    ws_max_message_bytes: int = Field(65_536, ge=256)
    ws_max_buffer_bytes: int = Field(1_048_576, ge=4096)
    ws_messages_per_second: float = Field(20.0, gt=0)
    idempotency_hours: float = Field(24.0, gt=0)

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if not value.startswith(BROKER_SCHEMES):
            schemes = ", ".join(f"{scheme}..." for scheme in BROKER_SCHEMES)
            raise ValueError(f"broker_url must start with one of {schemes}")
        return value

    @field_validator("allowed_origins", "jwt_algorithms", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip().rstrip("/") for part in value.split(",") if part.strip())
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("TOCSIN_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tocsin.db').resolve()}"


def load_settings(**overrides: Any) -> Settings:
    """Load settings and make sure the data folder and the JWT secret exist.

    Args:
        overrides: values that win over the environment (``None`` values are ignored).

    Returns:
        Frozen settings with ``jwt_secret`` filled in: from the environment, or read from
        (and, the first time, generated into) ``<data_dir>/jwt-secret``.
    """
    settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.jwt_secret:
        return settings
    return settings.model_copy(update={"jwt_secret": _stored_secret(settings.data_dir)})


def _stored_secret(data_dir: Path) -> str:
    path = data_dir / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        secret = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secret + "\n")
        return secret
