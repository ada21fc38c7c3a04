"""STOP, START and HELP must work on every channel, whatever an edit does to flows/keywords.yaml.

Carriers (CTIA, Twilio) and Telegram expect them, and a family must always be able to leave and
to reach a person. Removing `stop:` from keywords.yaml, pointing it at a flow that never opts out,
or limiting HELP to active families is refused like any other mistake, so a running service keeps
its last good program instead of hot-loading one that ignores STOP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.flows.model import END, Flow, Routing
from bot.problems import Problem
from bot.understanding.text import normalize

CHANNEL_NAMES = {"sms": "SMS", "telegram": "Telegram", "email": "email"}


@dataclass(frozen=True)
class Required:
    name: str
    action: str | None  # the `do:` its flow must run; None: it must say something
    when: tuple[str, ...]  # the `when:` values that reach everyone who needs it
    words: Mapping[str, tuple[str, ...]]  # by channel: the words people and carriers use
    broken: str  # what a family could not do
    before_consent: bool = True  # also answered while a newcomer is being asked to join


REQUIRED = (
    Required(
        "STOP",
        "opt_out",
        ("active", "any"),
        {
            # The words US carriers block on (Twilio's default opt-out keywords), and "opt out"
            # as the FCC's revocation rule (2024) writes it.
            "sms": (
                "STOP",
                "STOPALL",
                "UNSUBSCRIBE",
                "CANCEL",
                "END",
                "QUIT",
                "REVOKE",
                "OPTOUT",
                "OPT OUT",
            ),
            "telegram": ("/stop",),
            "email": ("STOP", "UNSUBSCRIBE"),
        },
        "a family could not stop the messages",
    ),
    Required(
        "START",
        "opt_in",
        ("opted_out", "any"),
        {"sms": ("START", "UNSTOP"), "telegram": ("/start",), "email": ("START",)},
        "a family who stopped could not start again",
        before_consent=False,  # START answers those who stopped; a newcomer's START joins
    ),
    Required(
        "HELP",
        None,
        ("any",),
        {"sms": ("HELP", "INFO"), "telegram": ("/help",), "email": ("HELP",)},
        "a family could not get help or reach a person",
    ),
)


@dataclass(frozen=True)
class _Run:
    """What a flow does when started with no reply to go on: its actions and whether it speaks."""

    actions: frozenset[str]
    says: bool


def check_required_keywords(
    flows: Mapping[str, Flow],
    routing: Routing,
    file: str,
    positions: Mapping[str, tuple[int, int]],
) -> list[Problem]:
    problems: list[Problem] = []
    by_word = {w: k for k in routing.keywords for w in k.words}
    top = positions.get("keywords", (1, 1))
    for req in REQUIRED:
        missing: dict[str, list[str]] = {}  # normalised word -> the channels that need it
        shown: dict[str, str] = {}
        for channel, words in req.words.items():
            for word in words:
                if normalize(word) not in by_word:
                    missing.setdefault(normalize(word), []).append(CHANNEL_NAMES[channel])
                    shown.setdefault(normalize(word), word)
        if missing:
            channels = list(dict.fromkeys(c for cs in missing.values() for c in cs))
            on = (
                ", ".join(channels[:-1]) + " and " + channels[-1]
                if len(channels) > 1
                else channels[0]
            )
            every = dict.fromkeys(w for ws in req.words.values() for w in ws)
            problems.append(
                Problem(
                    file,
                    *top,
                    "keywords",
                    f"no keyword answers {', '.join(shown.values())} (needed on {on}), "
                    f"so {req.broken}",
                    f"{req.name} is required on every channel: give a keyword the words "
                    f"[{', '.join(every)}].",
                )
            )
        for keyword in dict.fromkeys(
            by_word[normalize(w)]
            for ws in req.words.values()
            for w in ws
            if normalize(w) in by_word
        ):
            where = f"keyword '{keyword.name}'"
            at = positions.get(f"keyword.{keyword.name}", top)
            if keyword.when not in req.when:
                problems.append(
                    Problem(
                        file,
                        *at,
                        where,
                        f"it answers {req.name} but only `when: {keyword.when}`, so {req.broken}",
                        f"Use `when: {req.when[-1]}`.",
                    )
                )
            if req.before_consent and not keyword.before_consent:
                problems.append(
                    Problem(
                        file,
                        *at,
                        where,
                        f"it answers {req.name} but not before a person has agreed to join, "
                        f"so {req.broken} while being asked",
                        "Add `before_consent: true`.",
                    )
                )
            if req.action is not None and not keyword.interrupts:
                problems.append(
                    Problem(
                        file,
                        *at,
                        where,
                        f"it answers {req.name} with `interrupts: false`, so an open question "
                        "would stay open after it",
                        "Remove `interrupts: false`.",
                    )
                )
            if keyword.flow not in flows:
                continue  # reported already: the flow does not exist
            run = _run(flows, keyword.flow)
            if req.action is not None and req.action not in run.actions:
                problems.append(
                    Problem(
                        file,
                        *at,
                        where,
                        f"it answers {req.name}, but flow '{keyword.flow}' never runs "
                        f"`do: {req.action}`, so {req.broken}",
                        f"Point it at a flow whose steps run `do: {req.action}` before any "
                        "question, as the shipped one does.",
                    )
                )
            if not run.says:
                problems.append(
                    Problem(
                        file,
                        *at,
                        where,
                        f"it answers {req.name}, but flow '{keyword.flow}' says nothing back",
                        "Add a `say:` step that confirms it and says how to reach a person.",
                    )
                )
    return problems


def _run(flows: Mapping[str, Flow], flow_id: str) -> _Run:
    """Follow the steps a flow always takes (no reply yet: only `else` and fall-through)."""
    actions: set[str] = set()
    says = False
    seen: set[tuple[str, int]] = set()
    flow = flows.get(flow_id)
    index = 0
    while flow is not None and index < len(flow.steps) and (flow.id, index) not in seen:
        seen.add((flow.id, index))
        step = flow.steps[index]
        if step.kind == "ask":
            says = says or step.ask is not None
            break
        if step.kind == "do" and step.do:
            actions.add(step.do)
        if step.kind in ("say", "lesson"):
            says = True
        if step.kind == "go":
            flow, index = flows.get(step.go or ""), 0
            continue
        target = next((b.target for b in step.next if b.label is None), None)
        if target == END:
            break
        following = flow.index(target) if target else index + 1
        if following is None:
            break
        index = following
    return _Run(frozenset(actions), says)
