"""The provider stand-ins, each in its own process, and their arrival stamps."""

from __future__ import annotations

import httpx

from bench.common import Child


class Standins:
    def __init__(self, faults: bool = False) -> None:
        extra = ["--faults"] if faults else []
        self._children = {
            kind: Child(["bench.standin_proc", kind, *extra], quiet=faults)
            for kind in ("telegram", "twilio")
        }
        self.urls: dict[str, str] = {}

    def start(self) -> Standins:
        for child in self._children.values():
            child.start()
        for kind, child in self._children.items():
            self.urls[kind] = child.wait_for("ready", 60)["url"]
        return self

    @property
    def telegram(self) -> str:
        return self.urls["telegram"]

    @property
    def twilio(self) -> str:
        return self.urls["twilio"]

    def pid(self, kind: str) -> int:
        """The stand-in's process id (its CPU is read from /proc)."""
        proc = self._children[kind].proc
        assert proc is not None, "start() the stand-ins first"
        return proc.pid

    def stamps(self, kind: str) -> list[tuple[float, str]]:
        """(arrival, address) for every accepted message."""
        return [(t, a) for t, a, _ in self.arrivals(kind)]

    def arrivals(self, kind: str) -> list[tuple[float, str, str]]:
        """(arrival, address, text digest) for every accepted message."""
        answer = httpx.get(f"{self.urls[kind]}/_bench/stamps", timeout=120.0)
        answer.raise_for_status()
        return [(float(t), str(a), str(d)) for t, a, d in answer.json()]

    def faults(self, kind: str) -> dict[str, int]:
        answer = httpx.get(f"{self.urls[kind]}/_bench/faults", timeout=30.0)
        answer.raise_for_status()
        return {str(k): int(v) for k, v in answer.json().items()}

    def stalls(self) -> dict[str, list[tuple[float, float]]]:
        """Per stand-in, (monotonic end, seconds) of each lag of its event loop over 0.1 s."""
        out: dict[str, list[tuple[float, float]]] = {}
        for kind, url in self.urls.items():
            answer = httpx.get(f"{url}/_bench/stalls", timeout=30.0)
            answer.raise_for_status()
            out[kind] = [(float(t), float(s)) for t, s in answer.json()]
        return out

    def reset(self) -> None:
        for url in self.urls.values():
            httpx.post(f"{url}/_bench/reset", timeout=30.0).raise_for_status()

    def stop(self) -> None:
        for child in self._children.values():
            child.stop()
