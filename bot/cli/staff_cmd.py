"""`craftbot staff add|list|remove|link`: the console accounts of coaches and admins."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from argon2 import PasswordHasher

from bot.app import build
from bot.console.accounts import ROLES, AccountError, Accounts


def register(sub: Any) -> None:
    p = sub.add_parser("staff", help="console accounts for coaches and admins")
    ssub = p.add_subparsers(dest="staff_command", required=True)
    add = ssub.add_parser(
        "add",
        help="add an account; the password comes from standard input, or --link prints a "
        "one-time link to set it",
    )
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--link", action="store_true", help="print a one-time set-up link (48 hours) instead"
    )
    add.set_defaults(handler=run_add)
    ls = ssub.add_parser("list", help="list the accounts")
    ls.set_defaults(handler=run_list)
    rm = ssub.add_parser("remove", help="remove an account; its sessions end at once")
    rm.add_argument("email")
    rm.set_defaults(handler=run_remove)
    link = ssub.add_parser(
        "link", help="print a new one-time link to set a password (forgotten password)"
    )
    link.add_argument("email")
    link.set_defaults(handler=run_link)


@contextmanager
def _accounts() -> Iterator[tuple[Accounts, str]]:
    app = build(channels={})
    try:
        base = app.settings.public_base_url.rstrip("/")
        yield Accounts(app.ctx.db, app.ctx.clock, PasswordHasher()), base
    finally:
        app.engine.dispose()


def read_password() -> str:
    """Typed twice at a terminal; else the first line of standard input (for scripts)."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password (at least 12 characters): ")
        if getpass.getpass("Again: ") != first:
            raise AccountError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _fail(command: str, exc: Exception) -> int:
    print(f"craftbot staff {command}: {exc}", file=sys.stderr)
    return 2


def _link(base: str, token: str) -> str:
    return f"{base}/console/welcome/{token}"


def run_add(args: argparse.Namespace) -> int:
    try:
        password = None if args.link else read_password()
        with _accounts() as (accounts, base):
            user, token = accounts.add(args.email, args.role, password)
    except AccountError as exc:
        return _fail("add", exc)
    print(f"added {user.role} {user.email} (staff {user.id})")
    if token:
        print(f"one-time link to set the password (48 hours): {_link(base, token)}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with _accounts() as (accounts, _):
        listing = accounts.listing()
    if not listing:
        print("no staff accounts yet: craftbot staff add EMAIL --role admin")
        return 0
    width = max(len(s.email) for s in listing)
    for s in listing:
        print(f"{s.email:<{width}}  {s.role:<5}  {s.state}  (added {s.created_at:%Y-%m-%d})")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    try:
        with _accounts() as (accounts, _):
            removed = accounts.remove(args.email)
    except AccountError as exc:
        return _fail("remove", exc)
    if not removed:
        return _fail("remove", AccountError(f"{args.email} has no account"))
    print(f"removed {args.email.strip().lower()}; their sessions have ended")
    return 0


def run_link(args: argparse.Namespace) -> int:
    try:
        with _accounts() as (accounts, base):
            token = accounts.issue_link(args.email)
    except AccountError as exc:
        return _fail("link", exc)
    print(f"one-time link to set the password (48 hours): {_link(base, token)}")
    return 0
