"""The CPU of an inbound message's transaction, in-process: check-in answers from enrolled SMS
families, one message a transaction (`handle_inbound`) and in groups of 3 (`handle_inbound_many`,
as the web app's writer groups them under load).

    python -m bench.turn_cost [--messages N] [--db FILE]

It enrols 3,000 families into FILE the first time (kept, so runs compare on the same data) and
works on a copy. To compare two versions of the code, run it with PYTHONPATH set to each
checkout in turn, alternating: the machine's speed drifts from minute to minute.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import env_for, settings_from
from bench.population import ENROL_AT, address, enrol_families
from bot.app import App, build
from bot.channels.base import InboundMessage
from bot.process import settle_heap

FAMILIES = 3000
ANSWERS = ("yes", "no", "not sure", "today was good", "hi")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.turn_cost", description=__doc__)
    parser.add_argument("--messages", type=int, default=1500, help="each way (default 1500)")
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "turn_cost.db")
    args = parser.parse_args()
    if not args.db.exists():
        app = _app(args.db)
        enrol_families(app, FAMILIES, "sms")
        asyncio.run(app.aclose())
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / "turn_cost.db"
        shutil.copy(args.db, copy)
        app = _app(copy)
        settle_heap()
        n = args.messages
        c0 = time.process_time()
        for i in range(n):
            app.runtime.handle_inbound(_answer(i))
        c1 = time.process_time()
        for i in range(n, 2 * n, 3):
            app.runtime.handle_inbound_many([_answer(i), _answer(i + 1), _answer(i + 2)])
        c2 = time.process_time()
        asyncio.run(app.aclose())
    print(
        f"one a transaction: {1e6 * (c1 - c0) / n:.0f} us a message; "
        f"groups of 3: {1e6 * (c2 - c1) / n:.0f} us a message"
    )


def _app(path: Path) -> App:
    return build(settings_from(env_for(f"sqlite:///{path}")), channels={}, clock=lambda: ENROL_AT)


def _answer(i: int) -> InboundMessage:
    return InboundMessage("sms", address("sms", i % FAMILIES), ANSWERS[i % 5], f"SM{i:030d}")


if __name__ == "__main__":
    main()
