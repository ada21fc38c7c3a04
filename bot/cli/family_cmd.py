"""`craftbot family export|delete ID`: a family's own data, for staff acting on their request
(docs/privacy.md). The same export MYDATA gives and the same erasure as DELETE; each is audited
under the name given with --by. A mistake (no such family, no --yes) is said in a line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.cli.environment import CliError, load_settings, open_app


def register(sub: Any) -> None:
    p = sub.add_parser("family", help="export or erase one family's data, on their request")
    fsub = p.add_subparsers(dest="family_command", required=True)
    export = fsub.add_parser("export", help="everything kept about a family, as JSON")
    export.add_argument("id", type=family_number, help="the family's number (the console's)")
    export.add_argument("--by", required=True, help="who asks (kept in the audit log)")
    export.add_argument("--out", type=Path, help="write to this file (default: the screen)")
    export.set_defaults(handler=run_export)
    delete = fsub.add_parser(
        "delete", help="erase a family; only the address's opt-out stays, hashed"
    )
    delete.add_argument("id", type=family_number, help="the family's number (the console's)")
    delete.add_argument("--by", required=True, help="who erases (kept in the audit log)")
    delete.add_argument("--yes", action="store_true", help="yes, erase it: it cannot be undone")
    delete.set_defaults(handler=run_delete)


def family_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a family number such as 12")
    return value


def _who(args: argparse.Namespace) -> str:
    by = " ".join(str(args.by).split())
    if not by:
        raise CliError("--by needs a name: who is acting on the family's request")
    return by[:320]


def run_export(args: argparse.Namespace) -> int:
    by = _who(args)
    app = open_app(load_settings(reads_records=True), channels={})
    try:
        data = app.runtime.export_family(args.id)
        if data is None:
            raise CliError(f"there is no family {args.id}")
        app.runtime.audit_family("family.export", args.id, by, "cli")
    finally:
        app.engine.dispose()
    if args.out is None:
        sys.stdout.write(data.decode() + "\n")
        return 0
    try:
        args.out.write_bytes(data)
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"family {args.id}: everything kept is in {args.out}", file=sys.stderr)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    by = _who(args)
    if not args.yes:
        raise CliError(
            f"this erases family {args.id} for good; add --yes to do it "
            f"(`craftbot family export {args.id}` first keeps a copy)"
        )
    app = open_app(load_settings(reads_records=True), channels={})
    try:
        if not app.runtime.erase_family(args.id, "staff"):
            raise CliError(f"there is no family {args.id}")
        app.runtime.audit_family("family.delete", args.id, by, "cli")
    finally:
        app.engine.dispose()
    print(f"family {args.id} erased; only the address's opt-out is kept, as a hash")
    return 0
