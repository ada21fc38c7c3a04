"""`make soak`: days of a deployment in minutes, with faults and kills, then what reached families.

PostgreSQL, two web and two worker processes started from the Procfile's lines, the provider
stand-ins misbehaving at random (5xx, 429, hangs past the timeout, slow answers), 5,000 families
on SMS and Telegram, and every process on one moved clock (CLOCK_START, CLOCK_ANCHOR,
CLOCK_SPEED: docs/deploy.md) so that --days virtual days pass in --minutes real ones. Families
write in all along (check-in answers, HELP, chatter, STOP, crisis texts) through the signed
webhooks, alternating between the web processes as a load balancer would and retrying the other
one when a process is down, as a provider would. A worker or a web process is killed (SIGKILL or
SIGTERM) at random moments and started again; the last part of the run has no kills, so leases
run out and the outbox settles.

It prints and writes bench/soak.json: messages due, sent, duplicated (against the in-flight bound:
rows being sent at the moments of the kills), lost, expired, sends after STOP, non-crisis program
sends in quiet hours, webhooks answered 5xx, the crisis reply p99, and per channel the most
sends in any one second against the configured limit. docs/performance.md explains each figure.

    python -m bench.soak [--minutes 10] [--families 5000] [--days 3]   (SOAK_MINUTES works too)
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import itertools
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import func, select

from bench import pg
from bench.common import (
    TELEGRAM_SECRET,
    TWILIO_TOKEN,
    env_for,
    free_port,
    percentile,
    settings_from,
)
from bench.population import address, enrol_families
from bench.standins import Standins
from bot.app import build
from storage import models as m
from storage.db import make_engine
from tests.standins.signing import twilio_headers
from tests.standins.telegram_api import text_update
from tests.standins.twilio_api import inbound_sms_form

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "soak.json"
# Saturday 7 March 2026: the US clocks change on the Sunday, inside the run.
START = datetime(2026, 3, 7, 6, 0, tzinfo=UTC)
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Madrid",
    "Australia/Sydney",
)
LESSON_TIMES = ("07:30", "09:00", "12:15", "17:45")
CHECKIN_TIMES = ("18:30", "19:00", "20:15")
SMS_SHARE = 0.4  # the rest on Telegram
RATES = {"sms": 30.0, "telegram": 30.0}  # configured limits, per second (SMS: a short code)
STAFF_SMS = "+15550142"
INBOUND_PER_S = 5.0
CRISIS_TEXTS = ("I want to kill myself", "he is not breathing", "she took too many pills")
CHATTER = ("thanks", "ok", "what do I say when he comes home late?", "I'm tired today")
ANSWERS = ("no, he didn't drink today", "yes she used today", "not sure", "1", "2", "3")
WEIGHTS = (("answer", 55), ("chatter", 20), ("help", 6), ("stop", 5), ("crisis", 6))
PROGRAM_PREFIXES = ("lesson.", "checkin.question", "selfcare.", "review.", "summary.", "nudge.")
# The last look before a send checks quiet hours on the family's clock a few milliseconds before
# the provider has the message; at 432x a real second is 7 virtual minutes. Arrivals within this
# much real time of quiet hours starting count as "at the edge", apart from the goal's figure.
QUIET_EDGE_REAL_S = 1.0


@dataclass
class Sent:
    """One inbound webhook as the load generator saw it."""

    kind: str
    channel: str
    address: str
    provider_id: str
    t0: float  # monotonic, first attempt
    done: float | None = None  # monotonic, when a 200 came back
    statuses: list[int] = field(default_factory=list)
    refused: int = 0  # attempts that found no process listening (killed)


@dataclass
class Kill:
    target: str
    how: str
    at_s: float  # real seconds into the run
    in_flight: int  # outbox rows claimed and unrecorded at that moment (any process's)
    ids: set[int] = field(default_factory=set)  # those rows
    exited_s: float | None = None

    def figures(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if k != "ids"}


@dataclass
class Proc:
    name: str
    kind: str
    port: int
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    killing: bool = False  # signalled by the soak: its exit is expected


class Fleet:
    """The Procfile's web and worker lines as real processes, killed and started again."""

    def __init__(self, env: dict[str, str], logs: Path, web_ports: list[int]) -> None:
        self.env = env
        lines = dict(
            line.split(":", 1)
            for line in (REPO / "Procfile").read_text().splitlines()
            if ":" in line and not line.startswith("#")
        )
        self.commands = {kind: lines[kind].strip() for kind in ("web", "worker")}
        self.procs = [
            Proc(f"web{i + 1}", "web", port, logs / f"web{i + 1}.log")
            for i, port in enumerate(web_ports)
        ] + [Proc(f"worker{i + 1}", "worker", 0, logs / f"worker{i + 1}.log") for i in range(2)]

    def start(self, proc: Proc) -> None:
        line = self.commands[proc.kind].replace("$PORT", str(proc.port))
        argv = shlex.split(line)
        argv[0] = str(Path(sys.executable).parent / argv[0])  # the venv's craftbot
        env = {**os.environ, **self.env, "PORT": str(proc.port)}
        with proc.log.open("ab") as log:
            proc.popen = subprocess.Popen(
                argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        proc.starts += 1
        proc.killing = False

    def start_all(self) -> None:
        for proc in self.procs:
            self.start(proc)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.popen and proc.popen.poll() is None:
                proc.popen.terminate()
        for proc in self.procs:
            if proc.popen:
                try:
                    proc.popen.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.popen.kill()
                    proc.popen.wait()

    def died_unasked(self) -> list[str]:
        return [p.name for p in self.procs if p.popen and p.popen.poll() is not None]


class Clock:
    """The moved clock every process shares: virtual = START + (wall - anchor) x speed."""

    def __init__(self, anchor: float, speed: float) -> None:
        self.anchor, self.speed = anchor, speed
        self.wall_minus_mono = time.time() - time.monotonic()

    def at_mono(self, mono: float) -> datetime:
        wall = mono + self.wall_minus_mono
        return START + timedelta(seconds=(wall - self.anchor) * self.speed)

    def now(self) -> datetime:
        return self.at_mono(time.monotonic())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument(
        "--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "10"))
    )
    parser.add_argument("--families", type=int, default=5000)
    parser.add_argument("--days", type=float, default=3.0, help="virtual days the run covers")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.minutes < 1 or args.families < 50:
        parser.error("give at least --minutes 1 and --families 50")
    url = pg.pg_url()
    if not url:
        raise SystemExit(
            "no PostgreSQL answered (CRAFTBOT_TEST_PG_URL or .ci/.pg_url): `make soak` starts "
            "one with .ci/postgres.sh"
        )
    figures = run(url, args.minutes, args.families, args.days, random.Random(args.seed))
    print_figures(figures)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nwrote {args.out}")


def step(what: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {what}", flush=True)


def families_of(n: int, rng: random.Random) -> list[tuple[str, str]]:
    """(channel, address) for n families; SMS_SHARE of them on SMS."""
    sms = int(n * SMS_SHARE)
    return [("sms", address("sms", i)) for i in range(sms)] + [
        ("telegram", address("telegram", i)) for i in range(n - sms)
    ]


def enrol(db_url: str, n: int) -> None:
    kinds = [
        (zone, rel, None, None, lesson, checkin)
        for zone, rel, lesson, checkin in itertools.product(
            ZONES, ("parent", "partner"), LESSON_TIMES, CHECKIN_TIMES
        )
    ]
    enrolled_at = START - timedelta(hours=1)
    app = build(settings_from(env_for(db_url)), channels={}, clock=lambda: enrolled_at)
    sms = int(n * SMS_SHARE)
    enrol_families(app, sms, "sms", kinds=kinds, at=enrolled_at)
    enrol_families(app, n - sms, "telegram", kinds=kinds, at=enrolled_at)
    asyncio.run(app.aclose())


def run(base_url: str, minutes: float, n: int, days: float, rng: random.Random) -> dict[str, Any]:
    seconds = minutes * 60
    speed = days * 86400 / seconds
    calm_s = min(150.0, 0.4 * seconds)  # no kills at the end: leases (120 s) run out, rows settle
    logs = Path(tempfile.mkdtemp(prefix="craftbot-soak-"))
    standins = Standins(faults=True).start()
    try:
        with pg.migrated_database(base_url) as db_url:
            step(f"enrolling {n:,} families (SMS and Telegram) on PostgreSQL")
            enrol(db_url, n)
            families = families_of(n, rng)
            web_ports = [free_port(), free_port()]
            public = f"http://127.0.0.1:{web_ports[0]}"
            anchor = time.time() + 5.0
            env = {
                **env_for(db_url, standins.telegram, standins.twilio, public_base_url=public),
                "CLOCK_START": START.isoformat(),
                "CLOCK_ANCHOR": f"{anchor:.3f}",
                "CLOCK_SPEED": f"{speed:.6f}",
                "TICK_SECONDS": "1",
                "SMS_RATE_PER_S": str(RATES["sms"]),
                "TELEGRAM_RATE_PER_S": str(RATES["telegram"]),
                "PROVIDER_TIMEOUT_S": "2",
                "STAFF_ALERT_SMS": STAFF_SMS,
                "ORG_CONTACT": "call 555-0100",
            }
            clock = Clock(anchor, speed)
            fleet = Fleet(env, logs, web_ports)
            step(
                f"{minutes:g} min real = {days:g} days on the clock (x{speed:.0f}); "
                f"2 web + 2 worker processes from the Procfile; logs in {logs}"
            )
            fleet.start_all()
            t_start = time.monotonic()
            sent, kills, unasked = asyncio.run(
                drive(fleet, families, db_url, seconds, calm_s, rng, t_start, web_ports)
            )
            v_end = clock.now()
            step("stopping the fleet (SIGTERM) and reading what happened")
            fleet.stop_all()
            figures = analyse(db_url, standins, clock, sent, kills, v_end, speed)
            figures["run"] = {
                "minutes": minutes,
                "families": n,
                "virtual_days": days,
                "clock_speed": round(speed, 1),
                "virtual_start": START.isoformat(),
                "virtual_end": v_end.isoformat(),
                "processes": {p.name: p.starts for p in fleet.procs},
                "died_without_being_killed": unasked,
                "tracebacks_in_logs": tracebacks(logs),
                "inbound_sent": len(sent),
                "provider_faults": {k: standins.faults(k) for k in ("twilio", "telegram")},
                "configured_rates_per_s": RATES,
                "logs": str(logs),
            }
            return figures
    finally:
        standins.stop()


async def drive(
    fleet: Fleet,
    families: list[tuple[str, str]],
    db_url: str,
    seconds: float,
    calm_s: float,
    rng: random.Random,
    t_start: float,
    web_ports: list[int],
) -> tuple[list[Sent], list[Kill], list[str]]:
    """The families writing in, and the kills, until the run's time is up."""
    sent: list[Sent] = []
    kills: list[Kill] = []
    unasked: list[str] = []
    stopped: set[str] = set()
    engine = make_engine(db_url)
    await wait_ready(web_ports)
    inbound_until = t_start + seconds - 20.0
    chaos_until = t_start + seconds - calm_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15.0)) as client:
        writer = asyncio.create_task(
            write_in(client, families, stopped, rng, inbound_until, web_ports, sent)
        )
        chaos = asyncio.create_task(kill_at_random(fleet, engine, rng, chaos_until, t_start, kills))
        watch = asyncio.create_task(watch_fleet(fleet, unasked, t_start + seconds))
        await asyncio.sleep(max(0.0, t_start + seconds - time.monotonic()))
        for task in (writer, chaos, watch):
            task.cancel()
        await asyncio.gather(writer, chaos, watch, return_exceptions=True)
    engine.dispose()
    return sent, kills, unasked


async def wait_ready(ports: list[int]) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0)) as client:
        for port in ports:
            for _ in range(600):
                try:
                    async with client.get(f"http://127.0.0.1:{port}/healthz") as answer:
                        if answer.status == 200:
                            break
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"web process on port {port} never answered /healthz")


async def write_in(
    client: aiohttp.ClientSession,
    families: list[tuple[str, str]],
    stopped: set[str],
    rng: random.Random,
    until: float,
    ports: list[int],
    sent: list[Sent],
) -> None:
    kinds = [k for k, w in WEIGHTS for _ in range(w)]
    ids = itertools.count(1)
    tasks: list[asyncio.Task[None]] = []
    next_at = time.monotonic()
    while time.monotonic() < until:
        channel, addr = rng.choice(families)
        if addr in stopped:
            continue
        kind = rng.choice(kinds)
        text = {
            "answer": lambda: rng.choice(ANSWERS),
            "chatter": lambda: rng.choice(CHATTER),
            "help": lambda: "HELP",
            "stop": lambda: "STOP",
            "crisis": lambda: rng.choice(CRISIS_TEXTS),
        }[kind]()
        if kind == "stop":
            stopped.add(addr)
        number = next(ids)
        item = Sent(kind, channel, addr, "", time.monotonic())
        if channel == "sms":
            form = inbound_sms_form(addr, text, message_sid=f"SMsoak{number:08d}")
            item.provider_id = form["MessageSid"]
            tasks.append(asyncio.create_task(post_sms(client, ports, form, item, number)))
        else:
            update = text_update(number, int(addr), text, message_id=number)
            item.provider_id = str(number)
            tasks.append(asyncio.create_task(post_telegram(client, ports, update, item, number)))
        sent.append(item)
        next_at += rng.expovariate(INBOUND_PER_S)
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*tasks, return_exceptions=True)


async def post_sms(
    client: aiohttp.ClientSession, ports: list[int], form: dict[str, str], item: Sent, i: int
) -> None:
    public = f"http://127.0.0.1:{ports[0]}/webhooks/twilio/sms"
    headers = twilio_headers(TWILIO_TOKEN, public, form)
    await deliver(
        client, ports, "/webhooks/twilio/sms", {"data": form, "headers": headers}, item, i
    )


async def post_telegram(
    client: aiohttp.ClientSession, ports: list[int], update: dict[str, Any], item: Sent, i: int
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    await deliver(
        client, ports, "/webhooks/telegram", {"json": update, "headers": headers}, item, i
    )


async def deliver(
    client: aiohttp.ClientSession,
    ports: list[int],
    path: str,
    body: dict[str, Any],
    item: Sent,
    i: int,
) -> None:
    """Post until a 200, alternating web processes, as a provider retrying would (at most 8
    tries)."""
    for attempt in range(8):
        port = ports[(i + attempt) % len(ports)]
        try:
            async with client.post(f"http://127.0.0.1:{port}{path}", **body) as answer:
                await answer.read()
                item.statuses.append(answer.status)
                if answer.status == 200:
                    item.done = time.monotonic()
                    return
        except (aiohttp.ClientError, TimeoutError):
            item.refused += 1
        await asyncio.sleep(0.5 * (attempt + 1))


async def kill_at_random(
    fleet: Fleet,
    engine: Any,
    rng: random.Random,
    until: float,
    t_start: float,
    kills: list[Kill],
) -> None:
    """Every 15-45 s, a worker or a web process (in turn) gets SIGKILL or SIGTERM, then restarts."""
    kinds = itertools.cycle(("worker", "web"))
    while True:
        await asyncio.sleep(rng.uniform(15, 45))
        if time.monotonic() >= until:
            return
        kind = next(kinds)
        proc = rng.choice([p for p in fleet.procs if p.kind == kind])
        how = rng.choice(("SIGKILL", "SIGTERM"))
        if proc.popen is None or proc.popen.poll() is not None:
            continue
        proc.killing = True
        proc.popen.send_signal(signal.SIGKILL if how == "SIGKILL" else signal.SIGTERM)
        sending = await asyncio.to_thread(sending_now, engine)
        in_flight = len(sending)
        kill = Kill(proc.name, how, round(time.monotonic() - t_start, 1), in_flight, sending)
        kills.append(kill)
        step(f"{how} {proc.name} ({in_flight} rows being sent)")
        t_signal = time.monotonic()
        while proc.popen.poll() is None and time.monotonic() - t_signal < 30:
            await asyncio.sleep(0.1)
        if proc.popen.poll() is None:
            proc.popen.kill()  # a SIGTERM not obeyed in 30 s; the report says so
        else:
            kill.exited_s = round(time.monotonic() - t_signal, 2)
        proc.popen.wait()
        await asyncio.sleep(rng.uniform(1, 3))
        fleet.start(proc)


async def watch_fleet(fleet: Fleet, unasked: list[str], until: float) -> None:
    """A process that exits without being killed is a finding; it is started again."""
    while time.monotonic() < until:
        await asyncio.sleep(1.0)
        for proc in fleet.procs:
            if proc.popen is None or proc.popen.poll() is None or proc.killing:
                continue
            unasked.append(proc.name)
            fleet.start(proc)


def sending_now(engine: Any) -> set[int]:
    """The outbox rows claimed and not yet recorded: what a process killed now may have sent
    without its outcome being written."""
    with engine.connect() as conn:
        return set(
            conn.scalars(select(m.OutboundMessage.id).where(m.OutboundMessage.status == "sending"))
        )


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def analyse(
    db_url: str,
    standins: Standins,
    clock: Clock,
    sent: list[Sent],
    kills: list[Kill],
    v_end: datetime,
    speed: float,
) -> dict[str, Any]:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        rows = [
            dict(r._mapping) for r in conn.execute(select(m.OutboundMessage.__table__)).fetchall()
        ]
        contacts = {
            r.id: r
            for r in conn.execute(
                select(
                    m.Contact.id,
                    m.Contact.address,
                    m.Contact.timezone,
                    m.Contact.quiet_start,
                    m.Contact.quiet_end,
                    m.Contact.status,
                )
            )
        }
        stored_inbound = {
            (r.channel, r.provider_id)
            for r in conn.execute(select(m.InboundMessage.channel, m.InboundMessage.provider_id))
        }
        overdue_timers = int(
            conn.execute(
                select(func.count())
                .select_from(m.Timer)
                .where(m.Timer.due_at < v_end - timedelta(hours=1))
            ).scalar()
            or 0
        )
    engine.dispose()
    channel_of = {"twilio": "sms", "telegram": "telegram"}
    arrivals: dict[str, list[tuple[float, str, str]]] = {
        channel_of[k]: standins.arrivals(k) for k in ("twilio", "telegram")
    }
    statuses = Counter(r["status"] for r in rows)
    due = [r for r in rows if r["not_before"] <= v_end]
    key_rows: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        key_rows[(r["channel"], r["address"], digest(r["text"]))].append(r)
    got: Counter[tuple[str, str, str]] = Counter()
    for channel, items in arrivals.items():
        for _t, addr, dig in items:
            got[(channel, addr, dig)] += 1
    in_flight = set().union(*(k.ids for k in kills)) if kills else set()
    duplicated = beyond = unmatched = lost_sent = 0
    for key, count in got.items():
        recorded = sum(1 for r in key_rows.get(key, []) if r["status"] == "sent")
        if key not in key_rows:
            unmatched += count
        extra = max(0, count - max(recorded, 1 if key in key_rows else 0))
        duplicated += extra
        if not any(r["id"] in in_flight for r in key_rows.get(key, [])):
            beyond += extra
    for key, group in key_rows.items():
        recorded = sum(1 for r in group if r["status"] == "sent")
        lost_sent += max(0, recorded - got.get(key, 0))
    stuck = [
        r
        for r in due
        if r["status"] in ("queued", "sending")
        and r["not_before"] < v_end - timedelta(seconds=300 * speed)
    ]
    lost_inbound = sum(
        1 for s in sent if s.done is not None and (s.channel, s.provider_id) not in stored_inbound
    )
    after_stop = sends_after_stop(sent, arrivals, key_rows)
    quiet = quiet_hour_sends(arrivals, key_rows, contacts, clock, speed)
    crisis = crisis_latencies(sent, arrivals, key_rows)
    webhook_5xx = sum(1 for s in sent for code in s.statuses if code >= 500)
    per_second = {
        channel: busiest_second([t for t, _, _ in items]) for channel, items in arrivals.items()
    }
    # A family's crisis reply is not paced (docs/architecture.md): the goal is on the paced
    # sends (everything else, notices to staff included); the figure with them is beside it.
    paced = {
        channel: busiest_second(
            [
                t
                for t, addr, dig in items
                if not any(family_crisis(r) for r in key_rows.get((channel, addr, dig), []))
            ]
        )
        for channel, items in arrivals.items()
    }
    busiest_made_of = {
        channel: busiest_make_up(items, key_rows, channel) for channel, items in arrivals.items()
    }
    stalls = standins.stalls()
    kind_of = {"sms": "twilio", "telegram": "telegram"}
    clear = {
        channel: busiest_second(
            [
                t
                for t, addr, dig in items
                if not any(family_crisis(r) for r in key_rows.get((channel, addr, dig), []))
            ],
            stalls.get(kind_of[channel], []),
        )
        for channel, items in arrivals.items()
    }
    return {
        "messages_due": len(due),
        "sent": statuses.get("sent", 0),
        "duplicated": duplicated,
        "in_flight_bound": len(in_flight),
        "duplicated_beyond_bound": beyond,
        "lost": lost_sent + len(stuck) + lost_inbound,
        "lost_detail": {
            "recorded_sent_never_arrived": lost_sent,
            "due_over_5_min_real_still_queued": len(stuck),
            "inbound_answered_200_not_stored": lost_inbound,
            "timers_overdue_over_an_hour": overdue_timers,
        },
        "expired": statuses.get("expired", 0),
        "failed": statuses.get("failed", 0),
        "cancelled": statuses.get("cancelled", 0),
        "statuses": dict(statuses),
        "arrivals_matching_no_row": unmatched,
        "sends_after_stop": sum(after_stop.values()),
        "sends_after_stop_by_message": dict(after_stop),
        "quiet_hours_program_sends": quiet["beyond"],
        "quiet_hours_program_sends_at_the_edge": quiet["edge"],
        "quiet_hours_beyond_by_message": quiet["by_message"],
        "quiet_hours_beyond_real_s_into_p50_max": quiet["real_s_into_quiet_p50_max"],
        "webhooks_5xx": webhook_5xx,
        "webhooks_unanswered_attempts": sum(s.refused for s in sent),
        "webhooks_never_accepted": sum(1 for s in sent if s.done is None),
        "crisis_reply_p50_ms": round(percentile(crisis["ms"], 50), 1),
        "crisis_reply_p99_ms": round(percentile(crisis["ms"], 99), 1),
        "crisis_texts": crisis["texts"],
        "crisis_without_reply": crisis["missing"],
        "max_sends_in_one_second": paced,
        "busiest_second_made_of": busiest_made_of,
        "max_sends_in_one_second_with_crisis": per_second,
        "max_paced_sends_in_one_second_clear_of_standin_stalls": clear,
        "limit_per_second": RATES,
        "standin_stalls_over_0_1_s": {
            k: {"count": len(v), "longest_s": round(max((s for _, s in v), default=0.0), 2)}
            for k, v in stalls.items()
        },
        "kills": [k.figures() for k in kills],
        "inbound_by_kind": dict(Counter(s.kind for s in sent)),
    }


def sends_after_stop(
    sent: list[Sent],
    arrivals: dict[str, list[tuple[float, str, str]]],
    key_rows: dict[tuple[str, str, str], list[dict[str, Any]]],
) -> Counter[str]:
    """Messages that reached a family after their STOP was answered 200 (but the confirmation),
    counted by catalog id."""
    stopped_at = {(s.channel, s.address): s.done for s in sent if s.kind == "stop" and s.done}
    found: Counter[str] = Counter()
    for channel, items in arrivals.items():
        for t, addr, dig in items:
            at = stopped_at.get((channel, addr))
            if at is None or t <= at:
                continue
            ids = {str(r["message_id"]) for r in key_rows.get((channel, addr, dig), [])}
            if "keyword.stopped" not in ids:
                found[",".join(sorted(ids)) or "(no row)"] += 1
    return found


def is_program(row: dict[str, Any]) -> bool:
    """A message the program started (not a reply, not crisis): what quiet hours hold."""
    if row["kind"] == "crisis" or row["contact_id"] is None:
        return False
    if "in_reply_to" in row:
        return row["in_reply_to"] is None
    return str(row["message_id"]).startswith(PROGRAM_PREFIXES)


def quiet_hour_sends(
    arrivals: dict[str, list[tuple[float, str, str]]],
    key_rows: dict[tuple[str, str, str], list[dict[str, Any]]],
    contacts: dict[int, Any],
    clock: Clock,
    speed: float,
) -> dict[str, Any]:
    edge = timedelta(seconds=QUIET_EDGE_REAL_S * speed)
    counts: dict[str, Any] = {"beyond": 0, "edge": 0}
    by_message: Counter[str] = Counter()
    real_s_into: list[float] = []
    for channel, items in arrivals.items():
        for t, addr, dig in items:
            group = key_rows.get((channel, addr, dig), [])
            if not group or not all(is_program(r) for r in group):
                continue
            contact = contacts.get(group[0]["contact_id"])
            if contact is None:
                continue
            local = clock.at_mono(t).astimezone(ZoneInfo(contact.timezone or "America/New_York"))
            into = minutes_into_quiet(
                local, contact.quiet_start or "21:00", contact.quiet_end or "08:00"
            )
            if into is None:
                continue
            counts["edge" if into <= edge else "beyond"] += 1
            if into > edge:
                by_message[str(group[0]["message_id"])] += 1
                real_s_into.append(into.total_seconds() / speed)
    counts["by_message"] = dict(by_message.most_common(12))
    counts["real_s_into_quiet_p50_max"] = [
        round(percentile(real_s_into, 50), 1),
        round(max(real_s_into, default=0.0), 1),
    ]
    return counts


def minutes_into_quiet(local: datetime, start: str, end: str) -> timedelta | None:
    """How long quiet hours have lasted at `local`, or None outside them."""
    s, e = dtime.fromisoformat(start), dtime.fromisoformat(end)
    now = local.time()
    inside = (s <= now or now < e) if s > e else (s <= now < e)
    if not inside:
        return None
    began = datetime.combine(local.date(), s, tzinfo=local.tzinfo)
    if began > local:
        began -= timedelta(days=1)
    return local - began


def crisis_latencies(
    sent: list[Sent],
    arrivals: dict[str, list[tuple[float, str, str]]],
    key_rows: dict[tuple[str, str, str], list[dict[str, Any]]],
) -> dict[str, Any]:
    by_address: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (channel, addr, dig), group in key_rows.items():
        if any(r["kind"] == "crisis" and r["contact_id"] is not None for r in group):
            by_address[(channel, addr)].add(dig)
    ms: list[float] = []
    missing = 0
    texts = [s for s in sent if s.kind == "crisis"]
    for s in texts:
        replies = by_address.get((s.channel, s.address), set())
        times = [t for t, addr, dig in arrivals[s.channel] if addr == s.address and dig in replies]
        after = [t for t in times if t >= s.t0]
        if after:
            ms.append((min(after) - s.t0) * 1000)
        else:
            missing += 1
    return {"ms": ms, "missing": missing, "texts": len(texts)}


def family_crisis(row: dict[str, Any]) -> bool:
    """A family's crisis reply: the one kind of message that never waits for a pace."""
    return bool(row["kind"] == "crisis" and row["contact_id"] is not None)


def busiest_make_up(
    items: list[tuple[float, str, str]], key_rows: dict[Any, list[dict[str, Any]]], channel: str
) -> dict[str, Any]:
    """What the busiest one-second window of paced sends held: its messages by catalog id and
    whether they answered a family (in_reply_to) or came from the program or staff."""
    paced = sorted(
        (t, addr, dig)
        for t, addr, dig in items
        if not any(family_crisis(r) for r in key_rows.get((channel, addr, dig), []))
    )
    best, lo, best_span = 0, 0, (0, 0)
    for hi, (t, _, _) in enumerate(paced):
        while paced[lo][0] <= t - 1.0:
            lo += 1
        if hi - lo + 1 > best:
            best, best_span = hi - lo + 1, (lo, hi + 1)
    made: Counter[str] = Counter()
    for _, addr, dig in paced[best_span[0] : best_span[1]]:
        rows = key_rows.get((channel, addr, dig), [])
        row = rows[0] if rows else {}
        how = (
            "reply"
            if row.get("in_reply_to")
            else "staff"
            if not row.get("contact_id")
            else "program"
        )
        made[f"{how}:{str(row.get('message_id', '?')).split('.')[0]}"] += 1
    return {"sends": best, "by": dict(made.most_common(8))}


def busiest_second(times: list[float], stalls: list[tuple[float, float]] | None = None) -> int:
    """The most arrivals in any window (t - 1 s, t]; with `stalls` (the stand-in's event loop
    lags: end, seconds), only windows clear of them: a stand-in that could not run for a while
    stamps what waited for it all at once, whatever the senders did."""
    ordered = sorted(times)
    spans = sorted((end - lag, end) for end, lag in stalls or [])
    ends = [end for _, end in spans]
    best = lo = 0
    for hi, t in enumerate(ordered):
        while ordered[lo] <= t - 1.0:
            lo += 1
        if spans:
            i = bisect.bisect_left(ends, t - 1.0)  # the first stall ending inside the window
            if i < len(spans) and spans[i][0] <= t:
                continue
        best = max(best, hi - lo + 1)
    return best


def tracebacks(logs: Path) -> int:
    return sum(p.read_text(errors="replace").count("Traceback") for p in logs.glob("*.log"))


def print_figures(f: dict[str, Any]) -> None:
    run = f["run"]
    print(
        f"\ncraftbot soak: {run['families']:,} families, {run['minutes']:g} min real = "
        f"{run['virtual_days']:g} days ({run['virtual_start']} to {run['virtual_end']})"
    )
    rows = [
        ("messages due", f["messages_due"], ""),
        ("sent", f["sent"], ""),
        (
            "duplicated",
            f["duplicated"],
            f"in-flight bound {f['in_flight_bound']} (rows claimed at a kill); "
            f"{f['duplicated_beyond_bound']} beyond it",
        ),
        ("lost", f["lost"], json.dumps(f["lost_detail"])),
        ("expired", f["expired"], ""),
        ("failed", f["failed"], ""),
        ("sends after STOP", f["sends_after_stop"], "goal 0"),
        (
            "program sends in quiet hours",
            f["quiet_hours_program_sends"],
            f"goal 0; {f['quiet_hours_program_sends_at_the_edge']} more within "
            f"{QUIET_EDGE_REAL_S:g} real s of the start",
        ),
        ("webhooks answered 5xx", f["webhooks_5xx"], "goal 0"),
        (
            "crisis reply p99 ms",
            f["crisis_reply_p99_ms"],
            f"p50 {f['crisis_reply_p50_ms']}; {f['crisis_texts']} texts, "
            f"{f['crisis_without_reply']} without a reply",
        ),
    ]
    for channel, most in f["max_sends_in_one_second"].items():
        with_crisis = f["max_sends_in_one_second_with_crisis"][channel]
        rows.append(
            (
                f"{channel}: most paced sends in 1 s",
                most,
                f"limit {f['limit_per_second'][channel]:g}; {with_crisis} with families' "
                f"crisis replies (not paced); "
                f"{f['max_paced_sends_in_one_second_clear_of_standin_stalls'][channel]} "
                f"in seconds clear of stand-in stalls",
            )
        )
    for name, value, note in rows:
        print(f"{name:<32}{value:>10}  {note}")
    print(f"stand-in event loop stalls over 0.1 s: {json.dumps(f['standin_stalls_over_0_1_s'])}")
    print(
        f"kills: {len(f['kills'])}; processes started {run['processes']}; "
        f"died unasked {run['died_without_being_killed']}; tracebacks {run['tracebacks_in_logs']}"
    )


if __name__ == "__main__":
    main()
