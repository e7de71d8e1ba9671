"""The Origin allowlist shared by the WebSocket handshake and CORS."""

from __future__ import annotations

from collections.abc import Collection


def origin_allowed(origin: str | None, host: str | None, allowed: Collection[str]) -> bool:
    """Whether a browser at ``origin`` may connect.

    No Origin header (a non-browser client) is allowed; so is the server's own origin
    (same host and port as the ``Host`` header), any origin listed in ``allowed``
    (exact ``scheme://host[:port]``), or any origin at all when ``allowed`` holds ``*``.
    """
    if origin is None:
        return True
    origin = origin.strip().rstrip("/")
    if "*" in allowed or origin in allowed:
        return True
    same_host = bool(host) and origin.split("://", 1)[-1] == (host or "").strip()
    return same_host and origin.startswith(("http://", "https://"))
