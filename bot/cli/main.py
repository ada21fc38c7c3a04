"""`craftbot ...`: one parser, each command in a small module of its own.

Exit status, for every command: 0 done; 1 done, and it found problems the output lists (a flow
that does not validate, a transcript that diverges, CSV rows refused); 2 could not do what was
asked (a wrong argument, a missing file or folder, a database it cannot reach, a setting that is
missing or wrong), said in a line or two naming the value, path, URL or setting. Never a
traceback, unless --verbose asks for one.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from sqlalchemy.exc import SQLAlchemyError

from bot.cli import (
    admin_cmds,
    alerts_cmd,
    chat_cmd,
    content_cmds,
    family_cmd,
    flows_cmds,
    keys_cmd,
    serve_cmds,
    simulate_cmd,
    staff_cmd,
    understand_cmd,
)
from bot.cli.environment import CliError
from bot.cli.log_config import configure
from bot.problems import ProblemsFound
from bot.settings import ConfigError

Handler = Callable[[argparse.Namespace], int]
COMMANDS = (
    chat_cmd,
    simulate_cmd,
    admin_cmds,
    flows_cmds,
    content_cmds,
    serve_cmds,
    staff_cmd,
    keys_cmd,
    understand_cmd,
    alerts_cmd,
    family_cmd,
)


class Parser(argparse.ArgumentParser):
    """argparse, with a wrong argument said in two lines rather than a wrapped usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n  (`{self.prog} --help` lists what it takes)\n")


def parser() -> argparse.ArgumentParser:
    top = Parser(
        prog="craftbot", description="CRAFT coaching for families, by SMS, Telegram and email."
    )
    top.add_argument("-v", "--verbose", action="store_true", help="log more; show tracebacks")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure(verbose=args.verbose)
    handler: Handler = args.handler
    sub = getattr(args, f"{args.command}_command", None)  # flows validate, db upgrade, ...
    name = " ".join(["craftbot", args.command, *([sub] if sub else [])])

    def say(message: object) -> int:
        print(f"{name}: {message}", file=sys.stderr)
        return 2

    try:
        return handler(args)
    except (CliError, ConfigError) as exc:
        return say(exc)
    except ProblemsFound as exc:
        say(f"the program files have {len(exc.problems)} problem(s); nothing was started:")
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return say(f"the database refused: {first[0] if first else type(exc).__name__}")
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return say(f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still no traceback unless asked for
        if args.verbose:
            traceback.print_exc()
        return say(
            f"unexpected error ({type(exc).__name__}: {exc}); run with --verbose for the "
            "traceback, and please report it"
        )


if __name__ == "__main__":
    sys.exit(main())
