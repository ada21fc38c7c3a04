"""`make bench`: measure craftbot on this machine, print a table, write bench/results.json.

Options: --families N (default 100,000) for a quicker run, --skip-pg, --only PARTS (a quick look at
some parts; their figures go to a temporary file unless --out says where), --million (the fan-out
curve also at 1,000,000 families). Benchmarks assert nothing
about time; docs/performance.md explains every figure and what bounds it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import baseline, console_pages, dispatch, encryption, fanout, inbound, pg
from bench.common import REPO
from bench.standins import Standins

RESULTS = REPO / "bench" / "results.json"
SMS_DISPATCH_MAX = 20_000
SEND_COST_MESSAGES = 20_000
CPUS = os.cpu_count() or 1  # the cores the ceilings count, and the table's header
PARTS = ("dispatch", "inbound", "morning", "curve", "baseline", "pg", "console", "encryption")
CONSOLE_MESSAGES_PER_FAMILY = 10  # 100,000 families: 1,000,000 messages (issue 15)
TARGETS: dict[str, tuple[str, float]] = {  # key: (">=" or "<=", target)
    "fanout_100k_queue_s": ("<=", 10),
    "dispatch_msgs_per_s": (">=", 1000),
    "rate_limit_accuracy": (">=", 0.98),
    "inbound_p99_ms_at_100": ("<=", 25),
    "inbound_best_rate_sqlite": (">=", 500),
    "crisis_reply_p99_ms_during_fanout": ("<=", 250),
    "rss_mb_100k": ("<=", 250),
    "ratio_vs_baseline": (">=", 10),
    "pg_fanout_100k_two_workers_s": ("<=", 12),
    "pg_two_workers_speedup": (">=", 1.8),
    "console_alerts_p95_ms": ("<=", 100),
    "console_timeline_p95_ms": ("<=", 100),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--families", type=int, default=100_000, help="families in the morning (default 100000)"
    )
    parser.add_argument("--skip-pg", action="store_true", help="leave out the PostgreSQL runs")
    parser.add_argument(
        "--million", action="store_true", help="the fan-out curve also at 1,000,000 families"
    )
    parser.add_argument(
        "--only",
        type=parts,
        default=PARTS,
        help=f"comma-separated parts to run, of {','.join(PARTS)} (baseline needs morning)",
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help="where the JSON goes (default bench/results.json)"
    )
    args = parser.parse_args()
    if args.families < 10:
        parser.error(f"--families {args.families} is too few to measure: give at least 10")
    if (
        args.only != PARTS and args.out == RESULTS
    ):  # a partial run never overwrites the full figures
        args.out = Path(tempfile.gettempdir()) / "craftbot-bench-partial.json"
    started = time.monotonic()
    reference_before = reference_s()
    results, notes = measure(args.families, args.skip_pg, args.only, args.million)
    notes["machine"] = {**machine(), "reference_s": [reference_before, reference_s()]}
    notes["run_minutes"] = round((time.monotonic() - started) / 60, 1)
    print_table(results, notes, args.families)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    (args.out.with_name(args.out.stem + ".notes.json")).write_text(
        json.dumps(notes, indent=2) + "\n"
    )
    print(
        f"\nwrote {args.out} (figures) and {args.out.stem}.notes.json (details) in "
        f"{notes['run_minutes']} min"
    )


def parts(value: str) -> tuple[str, ...]:
    chosen = tuple(p.strip() for p in value.split(",") if p.strip())
    unknown = [p for p in chosen if p not in PARTS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown part {', '.join(unknown) or '(none)'}: choose from {', '.join(PARTS)}"
        )
    if "baseline" in chosen and "morning" not in chosen:
        raise argparse.ArgumentTypeError(
            "baseline is compared with the morning: add morning to --only"
        )
    return chosen


def measure(
    n: int, skip_pg: bool, only: tuple[str, ...] = PARTS, million: bool = False
) -> tuple[dict[str, float], dict[str, Any]]:
    results: dict[str, float] = {}
    notes: dict[str, Any] = {"families": n}
    pg_url = None if skip_pg else pg.pg_url()
    if not skip_pg and not pg_url and any(p in only for p in ("inbound", "pg")):
        raise SystemExit(
            "no PostgreSQL answered (CRAFTBOT_TEST_PG_URL or .ci/.pg_url): `make bench` starts "
            "one with .ci/postgres.sh; or pass --skip-pg to leave the PostgreSQL figures out"
        )
    standins = Standins().start()
    try:
        with tempfile.TemporaryDirectory(prefix="craftbot-bench-") as tmp:
            work = Path(tmp)
            if "dispatch" in only:
                measure_dispatch(n, work, standins, results, notes)
            if "inbound" in only:
                measure_inbound(work, standins, pg_url, results, notes)
            morning = None
            if "morning" in only:
                morning = measure_morning(n, work, standins, results, notes)
                if "baseline" in only:
                    measure_baseline(n, morning, work, standins, results, notes)
            if "curve" in only:
                measure_curve(n, million, morning, work, results, notes)
            if "pg" in only:
                measure_pg(n, pg_url, results, notes)
            if "console" in only:
                measure_console(n, work, results, notes)
            if "encryption" in only:
                measure_encryption(work, results, notes)
    finally:
        standins.stop()
    return results, notes


def measure_dispatch(
    n: int, work: Path, standins: Standins, results: dict[str, float], notes: dict[str, Any]
) -> None:
    step("dispatch: SMS through the Twilio adapter, no rate limit")
    sms = dispatch.sms_throughput(min(n, SMS_DISPATCH_MAX), work, standins)
    results["dispatch_msgs_per_s"] = round(sms.per_s, 1)
    notes["dispatch_sms"] = vars(sms)
    step("rate limit: a 30 msg/s Telegram channel with a backlog")
    paced = dispatch.paced(work, standins)
    results["rate_limit_accuracy"] = round(paced.accuracy, 4)
    notes["rate_limit"] = {**vars(paced), "worst_window_ratio": round(paced.worst_window, 4)}


def measure_inbound(
    work: Path,
    standins: Standins,
    pg_url: str | None,
    results: dict[str, float],
    notes: dict[str, Any],
) -> None:
    need = inbound.families_needed()
    runs: list[inbound.OpenLoop] = []
    for webs in (1, 2):
        step(f"inbound, open loop: signed Twilio check-in answers, SQLite, {webs} web process(es)")
        db_url = f"sqlite:///{work / f'inbound-{webs}.db'}"
        inbound.prepare(db_url, need)
        runs.append(inbound.run(db_url, f"SQLite, {webs} web", webs, standins))
    if pg_url:
        for webs in (1, 2):
            step(f"inbound, open loop: PostgreSQL, {webs} web process(es)")
            with pg.migrated_database(pg_url) as db_url:
                inbound.prepare(db_url, need)
                runs.append(inbound.run(db_url, f"PostgreSQL, {webs} web", webs, standins))
    sqlite_one = runs[0]
    at_100 = sqlite_one.at(100)
    results["inbound_best_rate_sqlite"] = sqlite_one.best()
    if at_100 is not None:
        results["inbound_p50_ms_at_100"] = round(at_100.p50, 1)
        results["inbound_p99_ms_at_100"] = round(at_100.p99, 1)
    for run in runs[1:]:
        key = run.label.lower().replace("postgresql", "pg").replace(", ", "_").replace(" ", "")
        results[f"inbound_best_rate_{key}"] = run.best()
    notes["inbound"] = {
        "method": f"open loop, {inbound.SECONDS_PER_RATE:g} s a rate, one answer a family; "
        "latency from each request's scheduled moment",
        "runs": [run.figures() for run in runs],
    }


def measure_curve(
    n: int,
    million: bool,
    morning: fanout.Morning | None,
    work: Path,
    results: dict[str, float],
    notes: dict[str, Any],
) -> None:
    sizes = [n // 10, n // 2, n, 2 * n] + ([1_000_000] if million else [])
    points = []
    for size in sizes:
        if size == n and morning is not None:  # the morning measured this point already
            points.append(
                fanout.Point(
                    n, morning.fanout_s, morning.fanout_cpu_s, morning.fired, morning.rss_mb, 0
                )
            )
            continue
        step(f"fan-out curve: {size:,} families, one worker's tick on SQLite")
        points.append(fanout.tick_only(size, work))
    for point in points:
        label = f"{point.families / 1000:g}k" if point.families < 1_000_000 else "1m"
        if point.families != n:
            results[f"fanout_{label}_s"] = round(point.seconds, 2)
        results[f"rss_mb_{label}"] = round(point.rss_mb, 1)
    notes["curve"] = [{**vars(p), "us_per_family": round(p.us_per_family, 1)} for p in points]


def measure_morning(
    n: int, work: Path, standins: Standins, results: dict[str, float], notes: dict[str, Any]
) -> fanout.Morning:
    step(f"the morning: {n:,} lessons fanned out, dispatched to Telegram, crisis texts meanwhile")
    morning = fanout.run(n, work, standins)
    crisis = fanout.summary(morning)
    results |= {
        "fanout_100k_queue_s": round(morning.fanout_s, 2),
        "crisis_reply_p99_ms_during_fanout": round(crisis["p99"], 1),
        "rss_mb_100k": round(morning.rss_mb, 1),
    }
    notes["morning"] = {
        **{k: v for k, v in vars(morning).items() if k != "crisis_ms"},
        "crisis_count": len(morning.crisis_ms),
        "crisis_p50_ms": crisis["p50"],
        "crisis_max_ms": crisis["max"],
        "telegram_msgs_per_s": morning.sent / morning.dispatch_s,
        "end_to_end_s": morning.end_to_end_s,
    }
    return morning


def measure_baseline(
    n: int,
    morning: fanout.Morning,
    work: Path,
    standins: Standins,
    results: dict[str, float],
    notes: dict[str, Any],
) -> None:
    step(f"baseline: {n:,} python-telegram-bot run_daily jobs due at once")
    base = baseline.run(n, fanout.sample_lesson(work), work, standins)
    results["baseline_schedule_100k_s"] = round(base.seconds, 2)
    results["ratio_vs_baseline"] = round(base.seconds / morning.end_to_end_s, 2)
    notes["baseline"] = vars(base)
    # The ceiling of that ratio here: n sends through the SDK and nothing else (no tick, no
    # database), their CPU and the stand-in's spread perfectly over every core.
    sends = min(n, SEND_COST_MESSAGES)
    step(f"Telegram sends alone: {sends:,} through the SDK, no database")
    cost = dispatch.telegram_send_cost(sends, standins)
    floor_s = n * cost.us_per_msg / 1e6 / CPUS
    results["ratio_ceiling_vs_baseline"] = round(base.seconds / floor_s, 2)
    notes["send_cost"] = {**vars(cost), "floor_s": floor_s}


def measure_pg(n: int, url: str | None, results: dict[str, float], notes: dict[str, Any]) -> None:
    if not url:
        notes["pg"] = "skipped (--skip-pg)"
        return
    step("PostgreSQL: the fan-out with one worker, then two")
    try:
        run = pg.run(url, n)
    except Exception as exc:  # the SQLite figures still count: report, don't lose them
        notes["pg"] = f"failed: {type(exc).__name__}: {exc}"
    else:
        results["pg_fanout_100k_queue_s"] = round(run.one_worker.seconds, 2)
        results["pg_fanout_100k_two_workers_s"] = round(run.two_workers.seconds, 2)
        results["pg_two_workers_speedup"] = round(run.speedup, 2)
        ceiling = run.speedup_ceiling(CPUS)
        if ceiling is not None:
            results["pg_two_workers_speedup_ceiling"] = round(ceiling, 2)
        notes["pg"] = {
            **asdict(run),
            "one_worker_cores_busy": run.one_worker.cores_busy,
            "two_workers_cores_busy": run.two_workers.cores_busy,
        }


def measure_console(n: int, work: Path, results: dict[str, float], notes: dict[str, Any]) -> None:
    messages = n * CONSOLE_MESSAGES_PER_FAMILY
    step(f"console: {n:,} families, {messages:,} messages; each page over HTTP, one at a time")
    pages = console_pages.run(n, messages, folder=work)
    for page in console_pages.PAGES:
        results[f"console_{page}_p95_ms"] = round(pages.figure(page, 0.95), 1)
    fresh = sorted(pages.stats_fresh_ms)
    results["console_stats_fresh_ms"] = round(fresh[len(fresh) // 2], 1)
    notes["console"] = {
        "families": n,
        "messages": messages,
        "seed_s": round(pages.seed_s, 1),
        "p50_ms": {page: round(pages.figure(page, 0.5), 1) for page in console_pages.PAGES},
        "max_ms": {page: round(max(pages.ms[page]), 1) for page in console_pages.PAGES},
        "requests_per_page": len(pages.ms["alerts"]),
        "stats_fresh_ms": [round(x, 1) for x in pages.stats_fresh_ms],
    }


def measure_encryption(work: Path, results: dict[str, float], notes: dict[str, Any]) -> None:
    step("encryption at rest: the cipher alone, and a check-in reply with and without it")
    figures = encryption.run(work)
    results["encryption_ms_per_inbound_message"] = figures["encryption_ms_per_inbound_message"]
    results["encrypt_lesson_us"] = figures["encrypt_lesson_us"]
    notes["encryption"] = figures


def step(what: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {what}", flush=True)


def machine() -> dict[str, Any]:
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cpus": CPUS,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_end": os.getloadavg(),
    }


def reference_s() -> float:
    """This machine's speed at one core of Python, now: the CPU seconds of a fixed piece of work
    like craftbot's own (small JSON, dicts, strings), best of three. Cloud machines of the same
    name differ by twice that from one day to the next, so every run records it before and after:
    compare figures of two runs only with their reference times beside them."""
    value = {"status": "active", "labels": ["non_use"], "pools": {"reward": 3}, "name": "Ana"}
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for i in range(20_000):
            text = json.dumps(value, sort_keys=True)
            again = json.loads(text)
            again["n"] = f"{i}:{again['name']}".partition(":")[0]
        best = min(best, time.process_time() - started)
    return round(best, 3)


def print_table(results: dict[str, float], notes: dict[str, Any], n: int) -> None:
    print(
        f"\ncraftbot benchmarks, {n:,} families; {notes['machine']['cpus']} CPUs, "
        f"{notes['machine']['memory_gib']} GiB, Python {notes['machine']['python']}; "
        "reference work {:.3f} s before, {:.3f} s after (lower is a faster machine)".format(
            *notes["machine"]["reference_s"]
        )
    )
    print(f"{'figure':<36}{'value':>12}  {'target':<10}verdict")
    for key, value in results.items():
        rule = TARGETS.get(key)
        target = f"{rule[0]} {rule[1]:g}" if rule else ""
        verdict = (
            ""
            if not rule
            else (
                "meets" if (value <= rule[1] if rule[0] == "<=" else value >= rule[1]) else "misses"
            )
        )
        print(f"{key:<36}{value:>12,.2f}  {target:<10}{verdict}")
    morning = notes.get("morning", {})
    if morning:
        print(
            f"\nTelegram dispatch {morning['telegram_msgs_per_s']:.0f} msg/s; craftbot end to end "
            f"{morning['end_to_end_s']:.1f} s; crisis p50 {morning['crisis_p50_ms']:.0f} ms, "
            f"max {morning['crisis_max_ms']:.0f} ms over {morning['crisis_count']} texts"
        )
    if "send_cost" in notes:
        cost = notes["send_cost"]
        print(
            f"Telegram sends alone: {cost['client_us']:.0f} us of SDK CPU + "
            f"{cost['standin_us']:.0f} us of the stand-in's a message; {n:,} of them on "
            f"{notes['machine']['cpus']} cores take at least {cost['floor_s']:.1f} s, so at most "
            f"{results['ratio_ceiling_vs_baseline']:.1f}x the baseline"
        )
    pg_notes = notes.get("pg")
    if isinstance(pg_notes, dict) and pg_notes.get("one_worker_cores_busy"):
        print(
            f"PostgreSQL: one worker kept {pg_notes['one_worker_cores_busy']:.2f} cores busy "
            f"(its CPU and the server's), two kept {pg_notes['two_workers_cores_busy']:.2f}: "
            f"on {notes['machine']['cpus']} cores two can be at most "
            f"{results['pg_two_workers_speedup_ceiling']:.2f}x one"
        )
    if "rate_limit" in notes:
        rl = notes["rate_limit"]
        print(
            f"rate limit: busiest second {rl['max_in_window']} arrivals "
            f"({rl['max_sent_in_window']} sends) at "
            f"{rl['configured']:g}/s"
        )


if __name__ == "__main__":
    main()
