"""The provider stand-ins, each in its own process, and their arrival stamps."""

from __future__ import annotations

import httpx

from bench.common import Child


class Standins:
    def __init__(self) -> None:
        self._children = {
            kind: Child(["bench.standin_proc", kind]) for kind in ("telegram", "twilio")
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

    def stamps(self, kind: str) -> list[tuple[float, str]]:
        answer = httpx.get(f"{self.urls[kind]}/_bench/stamps", timeout=120.0)
        answer.raise_for_status()
        return [(float(t), str(a)) for t, a in answer.json()]

    def reset(self) -> None:
        for url in self.urls.values():
            httpx.post(f"{url}/_bench/reset", timeout=30.0).raise_for_status()

    def stop(self) -> None:
        for child in self._children.values():
            child.stop()
