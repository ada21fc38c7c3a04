"""`craftbot staff add|list|remove|link|alerts`: the console accounts of coaches and admins.

`--alert-sms/--alert-email/--alert-telegram` link an account to the address it gets crisis alerts
at (an entry of STAFF_ALERT_*): the lists stay in the settings; the link only says whose it is.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from argon2 import PasswordHasher

from bot.app import build
from bot.console.accounts import ROLES, AccountError, Accounts
from bot.console.alert_link import CHANNELS, SETTING, alert_lists, normal_address
from bot.settings import Settings


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
    _alert_options(add)
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
    alerts = ssub.add_parser(
        "alerts",
        help="set where an account gets crisis alerts (an address on STAFF_ALERT_*); '' clears",
    )
    alerts.add_argument("email")
    _alert_options(alerts)
    alerts.set_defaults(handler=run_alerts)


def _alert_options(parser: Any) -> None:
    for channel in CHANNELS:
        parser.add_argument(
            f"--alert-{channel}",
            metavar="ADDRESS",
            help=f"the {channel} address this person gets crisis alerts at ({SETTING[channel]})",
        )


def _alert_addresses(args: argparse.Namespace) -> dict[str, str]:
    given = {c: getattr(args, f"alert_{c}") for c in CHANNELS}
    return {c: address for c, address in given.items() if address is not None}


@contextmanager
def _accounts() -> Iterator[tuple[Accounts, Settings]]:
    app = build(channels={})
    try:
        yield Accounts(app.ctx.db, app.ctx.clock, PasswordHasher()), app.settings
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


def _link(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/console/welcome/{token}"


def run_add(args: argparse.Namespace) -> int:
    addresses = _alert_addresses(args)
    try:
        password = None if args.link else read_password()
        with _accounts() as (accounts, settings):
            region = settings.phone_region()
            user, token = accounts.add(args.email, args.role, password, addresses, region)
            lists = alert_lists(settings)
    except AccountError as exc:
        return _fail("add", exc)
    print(f"added {user.role} {user.email} (staff {user.id})")
    if token:
        print(f"one-time link to set the password (48 hours): {_link(settings, token)}")
    _note_unlisted(addresses, lists, settings.phone_region())
    return 0


def run_alerts(args: argparse.Namespace) -> int:
    addresses = _alert_addresses(args)
    if not addresses:
        return _fail("alerts", AccountError("give --alert-sms, --alert-email or --alert-telegram"))
    try:
        with _accounts() as (accounts, settings):
            accounts.link_alerts(args.email, addresses, settings.phone_region())
            lists = alert_lists(settings)
    except AccountError as exc:
        return _fail("alerts", exc)
    shown = ", ".join(f"{c} {a.strip() or '(none)'}" for c, a in addresses.items())
    print(f"{args.email.strip().lower()} is alerted at: {shown}")
    _note_unlisted(addresses, lists, settings.phone_region())
    return 0


def _note_unlisted(
    addresses: dict[str, str], lists: Mapping[str, frozenset[str]], region: str
) -> None:
    """Linking does not send alerts: say so when the address is on no list."""
    for channel, raw in addresses.items():
        if raw.strip() and normal_address(channel, raw, region) not in lists[channel]:
            print(
                f"note: {raw.strip()} is not on {SETTING[channel]}, so no crisis alert goes "
                f"there; add it to that setting to alert this person"
            )


def run_list(args: argparse.Namespace) -> int:
    with _accounts() as (accounts, settings):
        listing = accounts.listing()
        lists = alert_lists(settings)
    if not listing:
        print("no staff accounts yet: craftbot staff add EMAIL --role admin")
    width = max((len(s.email) for s in listing), default=0)
    linked: set[tuple[str, str]] = set()
    for s in listing:
        print(f"{s.email:<{width}}  {s.role:<5}  {s.state}  (added {s.created_at:%Y-%m-%d})")
        for channel, address in s.alerts:
            linked.add((channel, address))
            on = address in lists[channel]
            where = (
                f"on {SETTING[channel]}"
                if on
                else f"not on {SETTING[channel]}: no alert goes there"
            )
            print(f"{'':<{width}}  alerted at {channel} {address} ({where})")
    unlinked = [(c, a) for c in CHANNELS for a in sorted(lists[c]) if (c, a) not in linked]
    if unlinked:
        print("on the alert lists, linked to no account:")
        for channel, address in unlinked:
            print(f"  {channel} {address} ({SETTING[channel]})")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    try:
        with _accounts() as (accounts, _settings):
            removed = accounts.remove(args.email)
    except AccountError as exc:
        return _fail("remove", exc)
    if not removed:
        return _fail("remove", AccountError(f"{args.email} has no account"))
    print(f"removed {args.email.strip().lower()}; their sessions have ended")
    return 0


def run_link(args: argparse.Namespace) -> int:
    try:
        with _accounts() as (accounts, settings):
            token = accounts.issue_link(args.email)
    except AccountError as exc:
        return _fail("link", exc)
    print(f"one-time link to set the password (48 hours): {_link(settings, token)}")
    return 0
