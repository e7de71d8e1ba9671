"""The ``tocsin`` command: serve, manage API keys, mint development tokens, migrate."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from tocsin.auth.api_keys import hash_secret, new_secret
from tocsin.auth.tokens import issue_token
from tocsin.errors import TocsinError
from tocsin.models import iso, now_ms
from tocsin.settings import Settings, load_settings
from tocsin.storage import open_storage


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tocsin", description="Real-time notifications for web applications."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (TOCSIN_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (TOCSIN_PORT, default 8000)")
    serve.add_argument(
        "--database-url", help="sqlite:///path or postgresql://... (TOCSIN_DATABASE_URL)"
    )
    serve.add_argument("--data-dir", help="data folder (TOCSIN_DATA_DIR, default ./data)")
    serve.add_argument(
        "--broker-url",
        help="redis://... or nats://... between nodes sharing a database "
        "(TOCSIN_BROKER_URL, default memory://: this node only)",
    )
    serve.add_argument(
        "--workers", type=int, help="worker processes on one port (TOCSIN_WORKERS, default 1)"
    )
    serve.add_argument("--demo", action="store_true", default=None, help="serve the demo app at /")

    keys = commands.add_parser("api-key", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    create = keys.add_parser("create", help="create a key and print it (shown once)")
    create.add_argument("name")
    keys.add_parser("list", help="list keys")
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id")

    token = commands.add_parser("token", help="print a user JWT signed with the configured secret")
    token.add_argument("user_id")
    token.add_argument("--role", action="append", default=[], help="a role (repeatable)")
    token.add_argument("--ttl", type=float, default=3600.0, help="lifetime in seconds (3600)")

    commands.add_parser("migrate", help="bring the database schema up to date")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tocsin`` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            database_url=getattr(args, "database_url", None),
            data_dir=getattr(args, "data_dir", None),
            demo=getattr(args, "demo", None),
            broker_url=getattr(args, "broker_url", None),
            workers=getattr(args, "workers", None),
        )
    except ValueError as exc:
        print(f"tocsin: invalid settings: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        from tocsin.web.server import serve

        if settings.workers > 1 and settings.broker_url.startswith("memory:"):
            print(
                "tocsin: --workers needs a broker to carry deliveries between the workers: "
                "set --broker-url (TOCSIN_BROKER_URL) to redis://... or nats://...",
                file=sys.stderr,
            )
            return 2
        try:
            return serve(settings)
        except TocsinError as exc:  # a database or broker that cannot be reached at start
            print(f"tocsin: {exc.message}", file=sys.stderr)
            return 1
    if args.command == "token":
        if args.ttl <= 0:
            print("tocsin: --ttl must be positive", file=sys.stderr)
            return 2
        print(
            issue_token(
                settings.jwt_secret,
                args.user_id,
                roles=args.role,
                ttl=args.ttl,
                algorithm=settings.jwt_algorithms[0],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
            )
        )
        return 0
    return asyncio.run(_storage_command(settings, args))


async def _storage_command(settings: Settings, args: argparse.Namespace) -> int:
    storage = open_storage(settings.resolved_database_url)
    await storage.open()
    try:
        if args.command == "migrate":
            print("schema is up to date", file=sys.stderr)
        elif args.action == "create":
            secret = new_secret()
            key = await storage.create_api_key(args.name, hash_secret(secret), now=now_ms())
            print(f"created API key {key.id} ({key.name}); it is shown only once:", file=sys.stderr)
            print(secret)
        elif args.action == "list":
            for key in await storage.list_api_keys():
                state = f"revoked {iso(key.revoked_at)}" if key.revoked_at else "active"
                print(f"{key.id}\t{key.name}\t{iso(key.created_at)}\t{state}")
        elif args.action == "revoke":
            if not await storage.revoke_api_key(args.id, now=now_ms()):
                print(f"tocsin: no active key {args.id}", file=sys.stderr)
                return 1
            print(f"revoked {args.id}", file=sys.stderr)
    finally:
        await storage.close()
    return 0
