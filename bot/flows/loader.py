"""Pass 1 and 2 of flow loading: YAML syntax, then the schema of every flow, keyword and order."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.flows.file_reader import FileReader
from bot.flows.model import (
    ACTIONS,
    EXPECT_LABELS,
    LESSON_MODES,
    PROFILE_FIELDS,
    RECORDS,
    TRIGGERS,
    Branch,
    Flow,
    ProgramOrder,
    Routing,
    Step,
    StepKind,
)
from bot.flows.routing_files import read_order, read_routing
from bot.problems import Problem
from bot.yaml_source import did_you_mean, key_position, read_yaml, type_name, value_position

STEP_KINDS: tuple[StepKind, ...] = ("say", "ask", "go", "lesson", "do", "branch")
STEP_OPTIONS = (
    "id",
    "next",
    "record",
    "expect",
    "save",
    "reask",
    "timeout",
    "on_timeout",
    "skip_if_known",
    "append",
)
ASK_ONLY = ("expect", "save", "reask", "timeout", "on_timeout", "skip_if_known")
FLOW_KEYS = ("description", "trigger", "steps")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
ROUTING_FILE = "keywords.yaml"
ORDER_FILE = "program.yaml"


def parse_duration(text: Any) -> int | None:
    """'3h' -> 10800; '45m' -> 2700; anything else -> None."""
    match = _DURATION.match(str(text))
    return int(match.group(1)) * _UNITS[match.group(2)] if match else None


@dataclass(frozen=True)
class FlowFiles:
    """What passes 1 and 2 made of flows/, and what they could not make sense of."""

    flows: dict[str, Flow]
    routing: Routing | None
    order: ProgramOrder | None
    problems: list[Problem]
    # Flow ids written in the files, even those too broken to load, and whether some file could
    # not be read at all: later passes then do not call a reference to such a flow unknown.
    named: frozenset[str] = frozenset()
    unreadable: bool = False
    # (line, col) in keywords.yaml and program.yaml, by "keyword.NAME", "join", "fallback",
    # "answer_as" and "lessons.I" / "maintenance.I" (I counts from 0), for errors found later.
    positions: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def may_exist(self, flow_id: str) -> bool:
        return flow_id in self.flows or flow_id in self.named or self.unreadable


def read_flow_files(flows_dir: Path) -> FlowFiles:
    problems: list[Problem] = []
    flows: dict[str, Flow] = {}
    routing: Routing | None = None
    order: ProgramOrder | None = None
    named: set[str] = set()
    unreadable = False
    positions: dict[str, tuple[int, int]] = {}
    if not flows_dir.is_dir():
        return FlowFiles(
            flows,
            None,
            None,
            [Problem(str(flows_dir), 1, 1, "", "the flows folder does not exist")],
        )
    for path in sorted(flows_dir.glob("*.yaml")):
        data, syntax = read_yaml(path)
        problems.extend(syntax)
        if syntax:
            unreadable = True
            continue
        reader = FileReader(str(path), problems)
        if not isinstance(data, Mapping):
            problems.append(
                Problem(
                    str(path),
                    1,
                    1,
                    "",
                    f"expected a mapping at the top of the file, found {type_name(data)}",
                )
            )
            continue
        if path.name == ROUTING_FILE:
            routing = read_routing(data, reader, positions)
        elif path.name == ORDER_FILE:
            order = read_order(data, reader, positions)
        else:
            for flow_id, raw in data.items():
                named.add(str(flow_id))
                if flow_id in flows:
                    first = flows[flow_id]
                    reader.error(
                        data,
                        flow_id,
                        f"flow '{flow_id}'",
                        f"a flow with this id already exists at {first.file}:{first.line}",
                        "Flow ids must be unique across flows/.",
                    )
                    continue
                flow = _read_flow(str(flow_id), raw, data, reader)
                if flow:
                    flows[flow.id] = flow
    if routing is None and not any(p.file.endswith(ROUTING_FILE) for p in problems):
        problems.append(
            Problem(
                str(flows_dir / ROUTING_FILE),
                1,
                1,
                "",
                "keywords.yaml is missing: it says how people join and which words act anywhere",
            )
        )
    if order is None and not any(p.file.endswith(ORDER_FILE) for p in problems):
        problems.append(
            Problem(
                str(flows_dir / ORDER_FILE),
                1,
                1,
                "",
                "program.yaml is missing: it gives the order of the lessons",
            )
        )
    return FlowFiles(flows, routing, order, problems, frozenset(named), unreadable, positions)


def _read_flow(flow_id: str, raw: Any, parent: Any, r: FileReader) -> Flow | None:
    where = f"flow '{flow_id}'"
    line, _ = key_position(parent, flow_id)
    if not isinstance(raw, Mapping):
        r.error(
            parent,
            flow_id,
            where,
            f"a flow must be a mapping with 'description' and 'steps', found {type_name(raw)}",
        )
        return None
    for key in raw:
        if key not in FLOW_KEYS:
            r.error(
                raw,
                key,
                where,
                f"'{key}' is not a key a flow can have (known: {', '.join(FLOW_KEYS)})",
                did_you_mean(key, FLOW_KEYS),
            )
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        r.error(parent, flow_id, where, "every flow needs a 'description' saying what it is for")
    trigger = r.text(raw, "trigger", where)
    if trigger is not None and trigger not in TRIGGERS:
        r.error(
            raw,
            "trigger",
            where,
            f"'{trigger}' is not a trigger (known: {', '.join(TRIGGERS)})",
            did_you_mean(trigger, TRIGGERS),
            value=True,
        )
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        r.error(parent, flow_id, where, "a flow needs 'steps': a list with at least one step")
        return None
    steps: list[Step] = []
    seen: dict[str, int] = {}
    for i, step_raw in enumerate(steps_raw):
        step = _read_step(step_raw, steps_raw, i, flow_id, r)
        if step is None:
            continue
        if step.id in seen:
            r.error(
                steps_raw,
                i,
                f"{where}, step '{step.id}'",
                f"the step id '{step.id}' is used twice in this flow (first on line "
                f"{seen[step.id]})",
                "Give each step its own id.",
            )
            continue
        seen[step.id] = step.line
        steps.append(step)
    return Flow(flow_id, str(description or "").strip(), r.file, line, tuple(steps), trigger)


def _read_step(raw: Any, seq: Any, i: int, flow_id: str, r: FileReader) -> Step | None:
    line, col = key_position(seq, i)
    if not isinstance(raw, Mapping):
        r.problems.append(
            Problem(
                r.file,
                line,
                col,
                f"flow '{flow_id}', step {i + 1}",
                f"a step must be a mapping such as `say: some.message`, found {type_name(raw)}",
            )
        )
        return None
    step_id = str(raw.get("id") or f"step{i + 1}")
    where = f"flow '{flow_id}', step '{step_id}'"
    kinds = [k for k in STEP_KINDS if k in raw]
    for key in raw:
        if key not in STEP_KINDS and key not in STEP_OPTIONS:
            r.error(
                raw,
                key,
                where,
                f"'{key}' is not a key a step can have (step types: {', '.join(STEP_KINDS)}; "
                f"options: {', '.join(STEP_OPTIONS)})",
                did_you_mean(key, (*STEP_KINDS, *STEP_OPTIONS)),
            )
    if len(kinds) != 1:
        if kinds:
            message = f"a step does one thing, but this one has {' and '.join(kinds)}"
            hint = "Split it into two steps, one after the other."
        else:
            message = f"this step does nothing: it needs one of {', '.join(STEP_KINDS)}"
            hint = "For example `say: some.message` or `ask: some.question`."
        r.problems.append(Problem(r.file, line, col, where, message, hint))
        # Keep the step (doing nothing) so that `next`s pointing at it do not also look broken.
        return Step(id=step_id, kind="say", line=line, col=col, next=_read_next(raw, where, r))
    kind = kinds[0]
    fields: dict[str, Any] = {}
    if kind == "say":
        fields.update(_read_say(raw, where, r))
    elif kind == "ask":
        fields.update(_read_ask(raw, where, r))
    elif kind == "go":
        fields["go"] = r.text(raw, "go", where)
    elif kind == "lesson":
        mode = r.text(raw, "lesson", where)
        if mode not in LESSON_MODES:
            r.error(
                raw,
                "lesson",
                where,
                f"lesson must be one of {', '.join(LESSON_MODES)}, found {mode!r}",
                value=True,
            )
        fields["lesson"] = mode
    elif kind == "do":
        action = r.text(raw, "do", where)
        if action not in ACTIONS:
            r.error(
                raw,
                "do",
                where,
                f"'{action}' is not an action (known: {', '.join(ACTIONS)})",
                did_you_mean(str(action), ACTIONS),
                value=True,
            )
        fields["do"] = action
    elif kind == "branch":
        fields["branch"] = r.text(raw, "branch", where)
        if not raw.get("next"):
            r.error(raw, "branch", where, "a branch step needs `next`: where each case goes")
    if "append" in raw:
        if kind != "say":
            r.error(raw, "append", where, "'append' only belongs on a say step")
        fields["append"] = r.text(raw, "append", where)
    if kind != "ask":
        for key in ASK_ONLY:
            if key in raw:
                r.error(raw, key, where, f"'{key}' only belongs on an ask step")
    record = raw.get("record") or {}
    if not isinstance(record, Mapping):
        r.error(
            raw,
            "record",
            where,
            f"record must be a mapping such as `checkin: non_use`, found {type_name(record)}",
            value=True,
        )
        record = {}
    for name, value in record.items():
        if name not in RECORDS:
            r.error(
                record,
                name,
                where,
                f"'{name}' cannot be recorded (known: {', '.join(RECORDS)})",
                did_you_mean(name, RECORDS),
            )
        elif str(value) not in RECORDS[name]:
            r.error(
                record,
                name,
                where,
                f"{name} cannot be '{value}' (known: {', '.join(RECORDS[name])})",
                did_you_mean(str(value), RECORDS[name]),
                value=True,
            )
    at = {str(k): value_position(raw, k) for k in raw}
    return Step(
        id=step_id,
        kind=kind,
        line=line,
        col=col,
        next=_read_next(raw, where, r),
        record={str(k): str(v) for k, v in record.items()},
        at=at,
        **fields,
    )


def _read_say(raw: Mapping[str, Any], where: str, r: FileReader) -> dict[str, Any]:
    value = raw["say"]
    if isinstance(value, Mapping):
        if set(value) != {"rotate"}:
            r.error(
                raw,
                "say",
                where,
                "say as a mapping must be `{rotate: pool}`, e.g. `say: {rotate: reward}`",
                value=True,
            )
            return {}
        return {"rotate": str(value["rotate"])}
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        r.error(
            raw,
            "say",
            where,
            f"say takes a message id or a list of them, found {type_name(value)}",
            value=True,
        )
        return {}
    return {"say": tuple(items)}


def _read_ask(raw: Mapping[str, Any], where: str, r: FileReader) -> dict[str, Any]:
    out: dict[str, Any] = {"ask": r.text(raw, "ask", where), "reask": r.text(raw, "reask", where)}
    expect = r.text(raw, "expect", where)
    if expect is None:
        r.error(
            raw,
            "ask",
            where,
            "an ask step needs 'expect': what kind of reply it waits for "
            f"({', '.join(EXPECT_LABELS)})",
        )
    elif expect not in EXPECT_LABELS:
        r.error(
            raw,
            "expect",
            where,
            f"'{expect}' is not a kind of reply (known: {', '.join(EXPECT_LABELS)})",
            did_you_mean(expect, EXPECT_LABELS),
            value=True,
        )
        expect = None
    out["expect"] = expect
    save = r.text(raw, "save", where)
    if save is not None and save not in PROFILE_FIELDS:
        r.error(
            raw,
            "save",
            where,
            f"'{save}' is not a profile field (known: {', '.join(PROFILE_FIELDS)})",
            did_you_mean(save, PROFILE_FIELDS),
            value=True,
        )
    out["save"] = save
    if "skip_if_known" in raw:
        skip = raw["skip_if_known"]
        if not isinstance(skip, bool):
            r.error(raw, "skip_if_known", where, "skip_if_known is true or false", value=True)
        elif skip and save is None:
            r.error(
                raw,
                "skip_if_known",
                where,
                "skip_if_known needs `save:`: the profile field that, once known, skips the "
                "question",
            )
        out["skip_if_known"] = skip is True
    if "timeout" in raw:
        seconds = parse_duration(raw["timeout"])
        if seconds is None or seconds <= 0:
            r.error(
                raw,
                "timeout",
                where,
                f"timeout must look like 30m, 3h or 2d, found {raw['timeout']!r}",
                value=True,
            )
        out["timeout_s"] = seconds
        target = r.text(raw, "on_timeout", where)
        if target is None:
            r.error(
                raw,
                "timeout",
                where,
                "a timeout needs 'on_timeout': the step to go to (or end) when no reply comes",
            )
        out["on_timeout"] = target
    elif "on_timeout" in raw:
        r.error(raw, "on_timeout", where, "on_timeout needs a 'timeout' such as 3h")
    return out


def _read_next(raw: Mapping[str, Any], where: str, r: FileReader) -> tuple[Branch, ...]:
    value = raw.get("next")
    if value is None:
        return ()
    if isinstance(value, str):
        return (Branch(None, value, *value_position(raw, "next")),)
    if not isinstance(value, list):
        r.error(
            raw,
            "next",
            where,
            "next must be a step id, 'end', or a list of `- if: ... then: ...` ending in `- "
            f"else: ...`, found {type_name(value)}",
            value=True,
        )
        return ()
    branches: list[Branch] = []
    for j, item in enumerate(value):
        if isinstance(item, Mapping) and set(item) == {"if", "then"}:
            branches.append(
                Branch(str(item["if"]), str(item["then"]), *value_position(item, "then"))
            )
        elif isinstance(item, Mapping) and set(item) == {"else"}:
            if j != len(value) - 1:
                r.error(value, j, where, "`else` must be the last item of next")
            branches.append(Branch(None, str(item["else"]), *value_position(item, "else")))
        else:
            r.error(
                value,
                j,
                where,
                "each item of next must be `if: label` with `then: step`, or `else: step`; found "
                f"{type_name(item)}",
            )
    return tuple(branches)
