"""Access log lines are written in batches, in order, and none is lost at close."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from tocsin.web import logs


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, "", 0, message, None, None)


def test_lines_reach_the_file_soon_in_one_write_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    with path.open("w", buffering=65536) as stream:
        handler = logs.BatchedStreamHandler(stream)
        for n in range(3):
            handler.handle(record(f"line {n}"))
        assert path.read_text() == ""  # still in the stream's buffer: no write per line
        deadline = time.monotonic() + 5
        while path.read_text() == "" and time.monotonic() < deadline:
            time.sleep(logs.FLUSH_SECONDS / 5)
        assert path.read_text() == "line 0\nline 1\nline 2\n"
        handler.handle(record("last"))
        handler.close()  # at exit: written at once
        assert path.read_text().endswith("line 2\nlast\n")


def test_uvicorn_access_handler_is_replaced_with_the_same_formatter() -> None:
    logger = logging.getLogger("uvicorn.access")
    saved = list(logger.handlers)
    plain = logging.StreamHandler()
    plain.setFormatter(logging.Formatter("%(message)s!"))
    logger.handlers = [plain]
    try:
        logs.prepare_access_log()
        logs.prepare_access_log()  # idempotent
        [handler] = logger.handlers
        assert isinstance(handler, logs.BatchedStreamHandler)
        assert handler.formatter is plain.formatter
        assert sum(isinstance(f, logs.RedactQuery) for f in logger.filters) == 1
    finally:
        logger.handlers = saved
