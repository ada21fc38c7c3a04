"""What the benchmark pieces share: provider credentials for the stand-ins, settings, clocks, child
processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.settings import Settings
from storage.crypto import DEV_KEYS

REPO = Path(__file__).resolve().parent.parent
TELEGRAM_TOKEN = "123456:standin-token"
TELEGRAM_SECRET = "bench-telegram-secret"
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "standin-auth-token"
TWILIO_FROM = "+15550100"


def env_for(
    db_url: str,
    telegram_url: str | None = None,
    twilio_url: str | None = None,
    public_base_url: str = "http://127.0.0.1:8000",
) -> dict[str, str]:
    """Environment variables (the deployment contract) for a worker or web process under test."""
    # The development key: every engine the bench makes itself (make_engine(url)) reads with it.
    env = {
        "DATABASE_URL": db_url,
        "PUBLIC_BASE_URL": public_base_url,
        "DATA_KEYS": DEV_KEYS[0],
        "ADDRESS_HASH_KEY": "bench-address-hash-key-0123456789abcdef",
    }
    if telegram_url:
        env |= {
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_BASE_URL": telegram_url,
        }
    if twilio_url:
        env |= {
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_FROM_NUMBER": TWILIO_FROM,
            "TWILIO_API_BASE_URL": twilio_url,
        }
    return env


def settings_from(env: dict[str, str]) -> Settings:
    return Settings.model_validate({k.lower(): v for k, v in env.items()})


def shifted_clock(start: datetime) -> Callable[[], datetime]:
    """A clock that reads `start` now and runs in real time: the bench morning, whatever today
    is."""
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc), or None where there is no /proc.

    Wall-clock figures move with whatever else the machine runs; this one much less.
    """
    found = _stat(Path(f"/proc/{pid}/stat"))
    return None if found is None else _seconds(found[1], (11, 12))


def server_cpu_s(name: str = "postgres") -> float | None:
    """CPU seconds so far of every process called `name` on this machine (a database server's
    processes), the exited ones included through their parents' reaped-children times; None
    where there is no /proc or no such process."""
    stats = [found for path in Path("/proc").glob("[0-9]*/stat") if (found := _stat(path))]
    times = [_seconds(fields, (11, 12, 13, 14)) for comm, fields in stats if comm == name]
    return sum(times) if times else None


def _stat(path: Path) -> tuple[str, list[str]] | None:
    """A /proc stat file's command name and the fields after it (state first), or None when the
    process is gone."""
    try:
        head, tail = path.read_text().rsplit(")", 1)
    except OSError:
        return None
    return head.split("(", 1)[1], tail.split()


def _seconds(fields: list[str], indexes: tuple[int, ...]) -> float:
    """The clock ticks at these field indexes (after the command name), in seconds."""
    return sum(int(fields[i]) for i in indexes) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0-100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


@dataclass
class Child:
    """A benchmark process speaking JSON lines on stdout; `events` collects them as they come."""

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None
    quiet: bool = False  # its stderr to /dev/null (a stand-in whose clients hang up on purpose)

    def start(self) -> Child:
        env = {**os.environ, **self.env, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *self.args],
            cwd=REPO,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if self.quiet else None,
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.events.append(json.loads(line))

    def wait_for(self, event: str, timeout_s: float = 3600.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for item in self.events:
                if item.get("event") == event:
                    return item
            if (
                self.proc is not None
                and self.proc.poll() is not None
                and not any(e.get("event") == event for e in self.events)
            ):
                raise RuntimeError(
                    f"benchmark process {' '.join(self.args)} exited ({self.proc.returncode}) "
                    f"before reporting '{event}'"
                )
            time.sleep(0.05)
        raise TimeoutError(
            f"benchmark process {' '.join(self.args)} did not report '{event}' in {timeout_s} s"
        )

    def send(self, line: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started, in MB.

    From /proc (VmHWM), not getrusage: ru_maxrss survives exec, so a child started by the bench
    reported the bench's own size whenever that was larger (every N of the curve read 227.7 or
    231.7 MB in a full run: the parent's, not the worker's).
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


def say(event: str, **values: Any) -> None:
    """Report from a child process to the orchestrator (one JSON line)."""
    print(json.dumps({"event": event, **values}), flush=True)
