"""`craftbot alerts list|ack|close`: the team's alerts from a terminal (docs/crisis.md).

Acknowledging here is the same status as in the console or by replying ACK to a notice: the
alert stops escalating. A mistake (no such alert, one already closed) is said in a line, exit 2.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.cli.environment import CliError, load_settings, open_app
from bot.runtime.alerts.desk import Outcome
from bot.runtime.alerts.records import STATUSES, AlertRecord
from storage import ids


def register(sub: Any) -> None:
    p = sub.add_parser("alerts", help="list, acknowledge and close the team's alerts")
    asub = p.add_subparsers(dest="alerts_command", required=True)
    ls = asub.add_parser(
        "list", help="every alert not closed, then the newest closed ones; or one status"
    )
    ls.add_argument("--status", choices=STATUSES, help="only alerts with this status")
    ls.add_argument("--format", choices=("table", "jsonl"), default="table")
    ls.add_argument("--limit", type=positive, default=200, help="at most this many (200)")
    ls.set_defaults(handler=run_list)
    ack = asub.add_parser("ack", help="acknowledge an alert: you have it; escalation stops")
    ack.add_argument("id", type=positive, help="the alert's number")
    ack.add_argument("--by", required=True, help="who has it (a name)")
    ack.add_argument("--note", default="", help="what you are doing, kept with the alert")
    ack.set_defaults(handler=run_ack)
    close = asub.add_parser("close", help="close an alert with a note of what was done")
    close.add_argument("id", type=positive, help="the alert's number")
    close.add_argument("--note", required=True, help="what was done")
    close.add_argument("--by", default="", help="who closes it (default: the one who acked)")
    close.set_defaults(handler=run_close)


def positive(text: str) -> int:
    value = ids.parse(text)  # None: not digits, 0, or past any row's id
    if value is None:
        raise argparse.ArgumentTypeError(f"'{ids.shown(text)}' is not an alert number such as 42")
    return value


def run_list(args: argparse.Namespace) -> int:
    app = open_app(load_settings(reads_records=True), channels={})
    try:
        found = app.runtime.alerts(args.status, args.limit)
    finally:
        app.engine.dispose()
    if args.format == "jsonl":
        for alert in found:
            print(json.dumps(alert.as_json()))
        return 0
    if not found:
        print(f"no {args.status} alerts" if args.status else "no alerts")
        return 0
    for alert in found:
        print(line(alert))
    return 0


def line(alert: AlertRecord) -> str:
    """One alert in a line: no message text (a terminal is seen by whoever stands by it)."""
    who = ""
    if alert.status == "acknowledged" and alert.acknowledged_at:
        via, at = alert.acknowledged_via, alert.acknowledged_at
        who = f" by {alert.acknowledged_by} ({via}, {at:%Y-%m-%d %H:%M})"
    elif alert.status == "closed" and alert.closed_at:
        who = f" by {alert.closed_by} ({alert.closed_at:%Y-%m-%d %H:%M})"
    told = "staff told" if alert.notified else "NOBODY told (no staff set)"
    return (
        f"{alert.id:>5}  {alert.status:<12} {alert.priority_label:<6}  {alert.at:%Y-%m-%d %H:%M}Z  "
        f"{alert.category:<16} family #{alert.contact_id} ({alert.channel})  {told}{who}"
    )


def run_ack(args: argparse.Namespace) -> int:
    by = args.by.strip()
    if not by:
        raise CliError("--by needs a name: who has this alert")
    outcome = _change(lambda app: app.runtime.acknowledge_alert(args.id, by, "cli", args.note))
    _check(args.id, outcome, "acknowledged")
    print(f"alert {args.id} acknowledged by {by}; escalation has stopped")
    return 0


def run_close(args: argparse.Namespace) -> int:
    note = args.note.strip()
    if not note:
        raise CliError("--note needs a few words: what was done")

    def close(app: Any) -> Outcome:
        current = app.runtime.alert(args.id)
        by = args.by.strip() or (current.acknowledged_by if current else "") or "cli"
        result: Outcome = app.runtime.close_alert(args.id, by, note)
        return result

    _check(args.id, _change(close), "closed")
    print(f"alert {args.id} closed")
    return 0


def _change(action: Any) -> Outcome:
    app = open_app(load_settings(reads_records=True), channels={})
    try:
        result: Outcome = action(app)
        return result
    finally:
        app.engine.dispose()


def _check(alert_id: int, outcome: Outcome, what: str) -> None:
    if outcome == "missing":
        raise CliError(f"there is no alert {alert_id} (`craftbot alerts list` shows them)")
    if outcome == "already":
        raise CliError(f"alert {alert_id} is already {what} or past it; nothing changed")
