"""`craftbot ...`: one parser, each command in a small module of its own."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from bot.cli import (
    admin_cmds,
    chat_cmd,
    content_cmds,
    flows_cmds,
    serve_cmds,
    simulate_cmd,
    understand_cmd,
)
from bot.problems import ProblemsFound
from bot.settings import ConfigError

Handler = Callable[[argparse.Namespace], int]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="craftbot", description="CRAFT coaching for families, by SMS, Telegram and email."
    )
    top.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        chat_cmd,
        simulate_cmd,
        admin_cmds,
        flows_cmds,
        content_cmds,
        serve_cmds,
        understand_cmd,
    ):
        module.register(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except ProblemsFound as exc:
        print(f"The program files have {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"craftbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
