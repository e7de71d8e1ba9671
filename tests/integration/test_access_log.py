"""Requests answered outside ASGI are logged like the others, without query strings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.conftest import Running, make_settings, run_server
from tocsin.web import logs


async def test_publish_shortcut_writes_a_proper_access_log_line(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """A publish gets an access log record that uvicorn's formatter can render."""
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    logging.getLogger("uvicorn.access").addHandler(caplog.handler)
    try:
        await server.publish(["alice"])
    finally:
        logging.getLogger("uvicorn.access").removeHandler(caplog.handler)
    records = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert records
    record = records[-1]
    assert record.args is not None
    assert len(record.args) == 5  # (client, method, path, http version, status)
    assert '"POST /v1/notifications HTTP/1.1" 202' in record.getMessage()


async def test_asgi_and_shortcut_requests_log_the_client_address(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """Addresses are looked up lazily (an event stream never needs them), but every logged
    request still has its client."""
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    logging.getLogger("uvicorn.access").addHandler(caplog.handler)
    try:
        await server.publish(["alice"])
        async with server.http() as client:
            assert (await client.get("/healthz")).status_code == 200
    finally:
        logging.getLogger("uvicorn.access").removeHandler(caplog.handler)
    records = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert len(records) == 2
    for record in records:
        assert isinstance(record.args, tuple)
        assert str(record.args[0]).startswith("127.0.0.1:")


@pytest.mark.parametrize("enabled", [True, False])
async def test_access_log_setting_decides_whether_requests_are_logged(
    tmp_path: Path, enabled: bool
) -> None:
    """uvicorn logs a request only when its access logger has a handler."""
    async with run_server(make_settings(tmp_path, access_log=enabled)) as running:
        await running.publish(["alice"])
        logger = logging.getLogger("uvicorn.access")
        handlers = logger.handlers
        assert logger.hasHandlers() is enabled
        direct = logs._plain_handler(logger)
    if enabled:
        assert [type(h) for h in handlers] == [logs.BatchedStreamHandler]
        assert direct is handlers[0]  # uvicorn's default setup: publishes take the short way


async def test_shortcut_lines_name_the_client_as_uvicorn_does_behind_a_proxy(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind a trusted proxy (127.0.0.1 by default) uvicorn logs the X-Forwarded-For client;
    the publish and ticket shortcuts log the same client as an ASGI request."""
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    logging.getLogger("uvicorn.access").addHandler(caplog.handler)
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    try:
        async with server.http() as client:
            await client.get("/healthz", headers=forwarded)
            body = {"to": {"users": ["alice"]}, "title": "hi"}
            publish = await client.post(
                "/v1/notifications", json=body, headers={**server.key_headers(), **forwarded}
            )
            assert publish.status_code == 202
            ticket = await client.post(
                "/v1/tickets", headers={**server.user_headers("alice"), **forwarded}
            )
            assert ticket.status_code == 200
    finally:
        logging.getLogger("uvicorn.access").removeHandler(caplog.handler)
    records = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert len(records) == 3
    clients = {r.args[0] for r in records if isinstance(r.args, tuple)}
    assert len(clients) == 1
    assert next(iter(clients)).startswith("203.0.113.9:")


async def test_a_repeated_header_counts_once_as_in_the_routes(server: Running) -> None:
    """Like Starlette, the publish shortcut reads the first of repeated headers."""
    async with server.http() as client:
        response = await client.post(
            "/v1/notifications",
            json={"to": {"users": ["alice"]}, "title": "hi"},
            headers=[
                ("Authorization", f"Bearer {server.api_key}"),
                ("Authorization", "Bearer not-a-key"),
            ],
        )
    assert response.status_code == 202, response.text
