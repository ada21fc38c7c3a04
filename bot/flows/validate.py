"""Passes 3 and 4 of flow loading: references (messages, steps, flows, labels), then the graph."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from bot.catalog.catalog import Catalogs
from bot.flows.loader import FlowFiles, read_flow_files
from bot.flows.locale_keywords import check_locale_keywords
from bot.flows.model import (
    END,
    EXPECT_LABELS,
    STATE_LABELS,
    Flow,
    FlowSet,
    ProgramOrder,
    Routing,
    Step,
)
from bot.flows.required_keywords import check_required_keywords
from bot.problems import Problem
from bot.yaml_source import did_you_mean


def load_flowset(
    flows_dir: Path, catalogs: Catalogs, complete_locales: tuple[str, ...] = ("en",)
) -> tuple[FlowSet | None, list[Problem]]:
    """Load and check everything in flows/; a FlowSet only when there is no problem at all."""
    files = read_flow_files(flows_dir)
    flows, routing, order, problems = files.flows, files.routing, files.order, files.problems
    refs = _References(files, catalogs, complete_locales)
    for flow in flows.values():
        refs.check_flow(flow)
    if routing:
        refs.check_routing(routing, flows_dir)
        problems += check_required_keywords(
            flows, routing, str(flows_dir / "keywords.yaml"), files.positions
        )
        problems += check_locale_keywords(
            routing,
            complete_locales,
            catalogs.locales.keys() or complete_locales,
            str(flows_dir / "keywords.yaml"),
            files.positions,
        )
    if order:
        refs.check_order(order, flows_dir)
    for flow in flows.values():
        _check_graph(flow, problems)
    _check_loops(flows, problems)
    if problems or routing is None or order is None:
        return None, sorted(set(problems))
    return FlowSet(flows, routing, order), []


def successors(flow: Flow, index: int) -> Iterator[tuple[str, str]]:
    """Where a step can lead: (flow id, step id) pairs, fall-through and jumps included."""
    step = flow.steps[index]
    following = flow.steps[index + 1].id if index + 1 < len(flow.steps) else None
    if step.kind == "go":
        if step.go:
            yield step.go, "*first*"
        return
    if step.on_timeout and step.on_timeout != END:
        yield flow.id, step.on_timeout
    has_else = any(b.label is None for b in step.next)
    for branch in step.next:
        if branch.target != END:
            yield flow.id, branch.target
    if not has_else and following:
        yield flow.id, following


class _References:
    def __init__(self, files: FlowFiles, catalogs: Catalogs, locales: tuple[str, ...]) -> None:
        self.files, self.catalogs, self.locales = files, catalogs, locales
        self.flows, self.problems = files.flows, files.problems

    def at(self, file: str, key: str) -> tuple[str, int, int]:
        return (file, *self.files.positions.get(key, (1, 1)))

    def message(self, flow: Flow, step: Step, key: str, message_id: str | None) -> None:
        if message_id is None:
            return
        missing = [x for x in self.locales if not self.catalogs.may_have(message_id, x)]
        if missing:
            line, col = step.pos(key)
            known = self.catalogs.ids(missing[0])
            self.problems.append(
                Problem(
                    flow.file,
                    line,
                    col,
                    f"flow '{flow.id}', step '{step.id}'",
                    f"message '{message_id}' is not in {self.folders(missing)}",
                    did_you_mean(message_id, known)
                    or f"Add it to a file in {'that folder' if len(missing) == 1 else 'each'}.",
                )
            )

    def folders(self, locales: list[str]) -> str:
        """'messages/en/', or 'messages/en/ or messages/es/' (a complete locale lacking it too)."""
        return " or ".join(f"messages/{x}/" for x in locales)

    def check_flow(self, flow: Flow) -> None:
        step_ids = [s.id for s in flow.steps]
        labels = {label for s in flow.steps if s.expect for label in EXPECT_LABELS[s.expect]}
        # An ask with an unknown `expect` is reported already; its labels cannot be judged.
        unknown_expect = any(s.kind == "ask" and s.expect is None for s in flow.steps)
        for step in flow.steps:
            where = f"flow '{flow.id}', step '{step.id}'"
            for message_id in step.say:
                self.message(flow, step, "say", message_id)
            self.message(flow, step, "ask", step.ask)
            self.message(flow, step, "reask", step.reask)
            self.message(flow, step, "append", step.append)
            if (
                step.rotate is not None
                and not self.catalogs.pool(step.rotate)
                and self.catalogs.default_locale not in self.catalogs.unreadable
            ):
                line, col = step.pos("say")
                self.problems.append(
                    Problem(
                        flow.file,
                        line,
                        col,
                        where,
                        f"there are no messages named '{step.rotate}.*' to rotate through",
                        "Pool names are the part of a message id before the first dot, e.g. "
                        "'reward'.",
                    )
                )
            if step.go is not None and not self.files.may_exist(step.go):
                line, col = step.pos("go")
                self.problems.append(
                    Problem(
                        flow.file,
                        line,
                        col,
                        where,
                        f"go points to '{step.go}', which is not a flow (known: "
                        f"{', '.join(sorted(self.flows))})",
                        did_you_mean(step.go, self.flows),
                    )
                )
            if (
                step.on_timeout is not None
                and step.on_timeout != END
                and step.on_timeout not in step_ids
            ):
                line, col = step.pos("on_timeout")
                self.problems.append(
                    Problem(
                        flow.file,
                        line,
                        col,
                        where,
                        f"on_timeout points to '{step.on_timeout}', which is not a step of flow "
                        f"'{flow.id}' (known: {', '.join(step_ids)}, or end)",
                        did_you_mean(step.on_timeout, step_ids),
                    )
                )
            allowed = (
                EXPECT_LABELS.get(step.expect or "", ())
                if step.kind == "ask"
                else tuple(sorted(labels))
            ) + STATE_LABELS
            for branch in step.next:
                if branch.target != END and branch.target not in step_ids:
                    self.problems.append(
                        Problem(
                            flow.file,
                            branch.line,
                            branch.col,
                            where,
                            f"next points to '{branch.target}', which is not a step of flow "
                            f"'{flow.id}' (known: {', '.join(step_ids)})",
                            did_you_mean(branch.target, step_ids),
                        )
                    )
                if branch.label is not None and branch.label not in allowed and not unknown_expect:
                    what = (
                        f"a reply to expect: {step.expect}"
                        if step.kind == "ask"
                        else "an answer in this flow"
                    )
                    self.problems.append(
                        Problem(
                            flow.file,
                            branch.line,
                            branch.col,
                            where,
                            f"'{branch.label}' can never be {what} (possible: "
                            f"{', '.join(allowed) or 'none'})",
                            did_you_mean(branch.label, allowed),
                        )
                    )

    def check_routing(self, routing: Routing, flows_dir: Path) -> None:
        file = str(flows_dir / "keywords.yaml")
        for keyword in routing.keywords:
            flow = self.flows.get(keyword.flow)
            where = f"keyword '{keyword.name}'"
            if flow is None and not self.files.may_exist(keyword.flow):
                self.problems.append(
                    Problem(
                        *self.at(file, f"keyword.{keyword.name}"),
                        where,
                        f"flow '{keyword.flow}' does not exist, so this keyword would start "
                        "nothing",
                        did_you_mean(keyword.flow, self.flows),
                    )
                )
            elif (
                flow is not None
                and not keyword.interrupts
                and any(s.kind == "ask" for s in flow.steps)
            ):
                self.problems.append(
                    Problem(
                        *self.at(file, f"keyword.{keyword.name}"),
                        where,
                        f"it has `interrupts: false` but flow '{flow.id}' asks a question",
                        "A keyword that leaves the open question open may only say things.",
                    )
                )
        for label, flow_id in (("join", routing.join_flow), ("fallback", routing.fallback_flow)):
            if not self.files.may_exist(flow_id):
                self.problems.append(
                    Problem(
                        *self.at(file, label),
                        label,
                        f"flow '{flow_id}' does not exist",
                        did_you_mean(flow_id, self.flows),
                    )
                )
        if routing.answer_as:
            self.check_answer_as(file, *routing.answer_as)

    def check_answer_as(self, file: str, flow_id: str, step_id: str) -> None:
        flow = self.flows.get(flow_id)
        where, rule = "fallback", "answer_as must name the ask step of a flow, as 'flow.step'"
        if flow is None:
            if not self.files.may_exist(flow_id):
                self.problems.append(
                    Problem(
                        *self.at(file, "answer_as"),
                        where,
                        f"{rule}, but there is no flow '{flow_id}'",
                        did_you_mean(flow_id, self.flows),
                    )
                )
            return
        step = flow.step(step_id)
        if step is None:
            asks = [s.id for s in flow.steps if s.kind == "ask"]
            self.problems.append(
                Problem(
                    *self.at(file, "answer_as"),
                    where,
                    f"{rule}, but flow '{flow_id}' has no step '{step_id}' (its ask steps: "
                    f"{', '.join(asks) or 'none'})",
                    did_you_mean(step_id, asks),
                )
            )
        elif step.kind != "ask":
            self.problems.append(
                Problem(
                    *self.at(file, "answer_as"),
                    where,
                    f"{rule}, but step '{step_id}' of flow '{flow_id}' is a {step.kind} step",
                )
            )

    def check_order(self, order: ProgramOrder, flows_dir: Path) -> None:
        file = str(flows_dir / "program.yaml")
        lists = [("lessons", order.lessons), ("maintenance", order.maintenance)]
        lists += [(f"tracks.{name}", ids) for name, ids in order.tracks.items()]
        for key, ids in lists:
            seen: dict[str, int] = {}
            for i, message_id in enumerate(ids):
                place = self.at(file, f"{key}.{i}")
                if message_id in seen:
                    self.problems.append(
                        Problem(
                            *place,
                            key,
                            f"'{message_id}' is listed twice (first on line {seen[message_id]})",
                            "Each message appears once in a list.",
                        )
                    )
                seen.setdefault(message_id, place[1])
                missing = [x for x in self.locales if not self.catalogs.may_have(message_id, x)]
                if missing:
                    self.problems.append(
                        Problem(
                            *place,
                            key,
                            f"message '{message_id}' is not in {self.folders(missing)}",
                            did_you_mean(message_id, self.catalogs.ids(missing[0]))
                            or "Add it to a file in that folder.",
                        )
                    )
                for locale in self.locales:
                    entry = self.catalogs.locales.get(locale, {}).get(message_id)
                    if entry is not None and key != "maintenance" and not entry.source:
                        self.problems.append(
                            Problem(
                                entry.file,
                                entry.line,
                                entry.col,
                                f"message '{message_id}'",
                                "a lesson needs `source:` naming the craft-facts.md section it "
                                "rests on",
                                'For example `source: "§2.5"`.',
                            )
                        )


def _check_graph(flow: Flow, problems: list[Problem]) -> None:
    if not flow.steps:
        return
    index = {s.id: i for i, s in enumerate(flow.steps)}
    reached = {0}
    todo = [0]
    while todo:
        i = todo.pop()
        for flow_id, step_id in successors(flow, i):
            j = index.get(step_id)
            if flow_id == flow.id and j is not None and j not in reached:
                reached.add(j)
                todo.append(j)
    # Report only where an unreachable stretch begins, not every step that follows from it.
    unreached = [i for i in range(len(flow.steps)) if i not in reached]
    led_to: dict[int, set[int]] = {}
    for i in unreached:
        seen, todo = set(), [i]
        while todo:
            for flow_id, step_id in successors(flow, todo.pop()):
                j = index.get(step_id)
                if (
                    flow_id == flow.id
                    and j is not None
                    and j not in reached
                    and j not in seen
                    and j != i
                ):
                    seen.add(j)
                    todo.append(j)
        led_to[i] = seen
    for i in unreached:
        if any(i in led_to[k] and not (k in led_to[i] and k > i) for k in unreached if k != i):
            continue  # an earlier unreachable step leads here; that one is reported
        step, after = flow.steps[i], len(led_to[i])
        also = f", nor can the {after} step{'s' if after > 1 else ''} it leads to" if after else ""
        problems.append(
            Problem(
                flow.file,
                step.line,
                step.col,
                f"flow '{flow.id}', step '{step.id}'",
                f"no path leads to this step, so it can never run{also}",
                "Point a `next` at it, or delete it.",
            )
        )
    last = flow.steps[-1]
    ends = last.kind == "go" or any(b.label is None for b in last.next)
    if not ends:
        problems.append(
            Problem(
                flow.file,
                last.line,
                last.col,
                f"flow '{flow.id}', step '{last.id}'",
                "this is the last step but it does not say where the conversation goes next",
                "Add `next: end` if the flow ends here.",
            )
        )


def _check_loops(flows: Mapping[str, Flow], problems: list[Problem]) -> None:
    """A cycle of steps with no question in it would run for ever without waiting for anyone."""

    def key(flow_id: str, step_id: str) -> tuple[str, str] | None:
        flow = flows.get(flow_id)
        if flow is None or not flow.steps:
            return None
        return (flow_id, flow.steps[0].id if step_id == "*first*" else step_id)

    graph: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for flow in flows.values():
        for i, step in enumerate(flow.steps):
            if step.kind == "ask":
                continue  # a question waits for a reply: it breaks any loop
            graph[(flow.id, step.id)] = [k for f, s in successors(flow, i) if (k := key(f, s))]
    state: dict[tuple[str, str], int] = {}
    reported: set[frozenset[tuple[str, str]]] = set()

    def visit(node: tuple[str, str], path: list[tuple[str, str]]) -> None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    flow = flows[nxt[0]]
                    step = flow.step(nxt[1])
                    loop = " -> ".join(f"{f}.{s}" for f, s in [*cycle, nxt])
                    if step:
                        problems.append(
                            Problem(
                                flow.file,
                                step.line,
                                step.col,
                                f"flow '{flow.id}', step '{step.id}'",
                                f"these steps loop for ever without asking anything: {loop}",
                                "Put an ask step in the loop, or end it.",
                            )
                        )
            elif state.get(nxt) is None:
                visit(nxt, path)
        path.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
