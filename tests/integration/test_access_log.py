"""Requests answered outside ASGI are logged like the others, without query strings."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import Running


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
