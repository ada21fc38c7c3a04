"""The craftbot web app under measurement (python -m bench.web_proc PORT): real uvicorn on
127.0.0.1.

Settings come from the environment; the clock reads the bench morning and runs in real time.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn

from bench.common import say, shifted_clock
from bench.population import TICK_AT
from bot.app import build
from bot.process import settle_heap
from bot.settings import Settings
from bot.web.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("--at", default=TICK_AT.isoformat(), help="what the clock reads at start")
    args = parser.parse_args()
    from datetime import datetime

    app = build(Settings(), clock=shifted_clock(datetime.fromisoformat(args.at)))
    # TCP_NODELAY, as the stand-ins do: asyncio sets it only on sockets made with IPPROTO_TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    # A keep-alive longer than any wait here: uvicorn's 5 s default closes connections a client is
    # about to reuse (a load balancer in front sets the same).
    web = create_app(app)
    settle_heap()  # as `craftbot web` does (bot/process.py)
    config = uvicorn.Config(
        web, log_level="warning", access_log=False, backlog=4096, timeout_keep_alive=75
    )
    server = uvicorn.Server(config)
    say("ready", port=args.port)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
