"""Settings from the environment, a TOML file and overrides; the generated JWT secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tocsin.settings import load_settings


def test_defaults_use_sqlite_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without settings the database is SQLite inside the data folder."""
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(tmp_path / "d"))
    settings = load_settings()
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'd' / 'tocsin.db').resolve()}"
    assert (tmp_path / "d").is_dir()


def test_jwt_secret_is_generated_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generated secret is written with mode 0600 and reused on the next start."""
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(tmp_path))
    first = load_settings().jwt_secret
    assert len(first) >= 40
    assert load_settings().jwt_secret == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600


def test_environment_lists_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Comma lists parse; explicit overrides beat the environment; None overrides are ignored."""
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TOCSIN_ALLOWED_ORIGINS", "https://a.example/, https://b.example")
    monkeypatch.setenv("TOCSIN_PORT", "9000")
    monkeypatch.setenv("TOCSIN_JWT_SECRET", "from-env")
    settings = load_settings(port=9100, host=None)
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.port == 9100
    assert settings.host == "127.0.0.1"
    assert settings.jwt_secret == "from-env"


def test_toml_file_is_read_below_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TOCSIN_CONFIG names a TOML file; the environment wins over it."""
    config = tmp_path / "tocsin.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\nheartbeat_seconds = 7\nport = 8100\n'
        'allowed_origins = ["https://c.example"]\n'
    )
    monkeypatch.setenv("TOCSIN_CONFIG", str(config))
    monkeypatch.setenv("TOCSIN_PORT", "8200")
    settings = load_settings()
    assert settings.heartbeat_seconds == 7
    assert settings.port == 8200
    assert settings.allowed_origins == ("https://c.example",)


def test_invalid_values_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Out-of-range or unknown settings raise a validation error."""
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TOCSIN_PORT", "70000")
    with pytest.raises(ValidationError):
        load_settings()
