"""The tocsin command, run as a user would: keys, tokens, and a real server process."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tocsin.auth.tokens import TokenVerifier


def tocsin(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TOCSIN_DATA_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_api_key_create_list_revoke(tmp_path: Path) -> None:
    """create prints the secret alone on stdout; list shows it; revoke marks it revoked."""
    created = tocsin(tmp_path, "api-key", "create", "shop")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("tsk_")
    listed = tocsin(tmp_path, "api-key", "list")
    key_id, name, _, state = listed.stdout.strip().split("\t")
    assert (name, state) == ("shop", "active")
    assert tocsin(tmp_path, "api-key", "revoke", key_id).returncode == 0
    assert "revoked" in tocsin(tmp_path, "api-key", "list").stdout
    assert tocsin(tmp_path, "api-key", "revoke", key_id).returncode == 1


def test_token_is_signed_with_the_stored_secret(tmp_path: Path) -> None:
    """tocsin token mints a JWT that the server's secret verifies, with roles and ttl."""
    result = tocsin(tmp_path, "token", "alice", "--role", "admin", "--ttl", "60")
    assert result.returncode == 0, result.stderr
    secret = (tmp_path / "jwt-secret").read_text().strip()
    principal = TokenVerifier([secret]).verify(result.stdout.strip())
    assert principal.user == "alice"
    assert principal.roles == ("admin",)
    assert principal.expires_at - time.time() <= 61
    assert tocsin(tmp_path, "token", "alice", "--ttl", "0").returncode == 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_answers_health_and_publish(tmp_path: Path) -> None:
    """tocsin serve starts on SQLite with no other service and accepts a publish."""
    secret = tocsin(tmp_path, "api-key", "create", "t").stdout.strip()
    port = free_port()
    env = {**os.environ, "TOCSIN_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tocsin", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("tocsin serve did not become healthy")
        response = httpx.post(
            f"{url}/v1/notifications",
            json={"to": {"users": ["alice"]}, "title": "Hi"},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert response.status_code == 202
        assert (tmp_path / "tocsin.db").exists()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    # uvicorn shuts down gracefully, then re-raises SIGTERM as the exit status.
    assert process.returncode in (0, -15)
    assert b"Application shutdown complete" in output
    # Tocsin's own lines come through uvicorn's handler and format.
    assert re.search(rb"INFO: +Tocsin \S+ ready, storage: SQLite \S*tocsin\.db", output), output
