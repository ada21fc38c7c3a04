"""Passes 3 and 4 of flow loading: references (messages, steps, flows, labels), then the graph."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from bot.catalog.catalog import Catalogs
from bot.flows.loader import read_flow_files
from bot.flows.model import END, EXPECT_LABELS, Flow, FlowSet, ProgramOrder, Routing, Step
from bot.problems import Problem
from bot.yaml_source import did_you_mean


def load_flowset(flows_dir: Path, catalogs: Catalogs, complete_locales: tuple[str, ...] = ("en",)) -> tuple[FlowSet | None, list[Problem]]:
    """Load and check everything in flows/; a FlowSet only when there is no problem at all."""
    flows, routing, order, problems = read_flow_files(flows_dir)
    refs = _References(flows, catalogs, complete_locales, problems)
    for flow in flows.values():
        refs.check_flow(flow)
    if routing:
        refs.check_routing(routing, flows_dir)
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
    def __init__(self, flows: Mapping[str, Flow], catalogs: Catalogs, locales: tuple[str, ...], problems: list[Problem]) -> None:
        self.flows, self.catalogs, self.locales, self.problems = flows, catalogs, locales, problems

    def message(self, flow: Flow, step: Step, key: str, message_id: str | None) -> None:
        if message_id is None:
            return
        for locale in self.locales:
            if message_id not in self.catalogs.locales.get(locale, {}):
                line, col = step.pos(key)
                known = self.catalogs.ids(locale)
                self.problems.append(Problem(flow.file, line, col, f"flow '{flow.id}', step '{step.id}'", f"message '{message_id}' is not in messages/{locale}/", did_you_mean(message_id, known) or "Add it to a file in that folder."))

    def check_flow(self, flow: Flow) -> None:
        step_ids = [s.id for s in flow.steps]
        labels = {label for s in flow.steps if s.expect for label in EXPECT_LABELS[s.expect]}
        for step in flow.steps:
            where = f"flow '{flow.id}', step '{step.id}'"
            for message_id in step.say:
                self.message(flow, step, "say", message_id)
            self.message(flow, step, "ask", step.ask)
            self.message(flow, step, "reask", step.reask)
            if step.rotate is not None and not self.catalogs.pool(step.rotate):
                line, col = step.pos("say")
                self.problems.append(Problem(flow.file, line, col, where, f"there are no messages named '{step.rotate}.*' to rotate through", "Pool names are the part of a message id before the first dot, e.g. 'reward'."))
            if step.go is not None and step.go not in self.flows:
                line, col = step.pos("go")
                self.problems.append(Problem(flow.file, line, col, where, f"go points to '{step.go}', which is not a flow (known: {', '.join(sorted(self.flows))})", did_you_mean(step.go, self.flows)))
            if step.on_timeout is not None and step.on_timeout != END and step.on_timeout not in step_ids:
                line, col = step.pos("on_timeout")
                self.problems.append(Problem(flow.file, line, col, where, f"on_timeout points to '{step.on_timeout}', which is not a step of flow '{flow.id}' (known: {', '.join(step_ids)}, or end)", did_you_mean(step.on_timeout, step_ids)))
            allowed = EXPECT_LABELS.get(step.expect or "", ()) if step.kind == "ask" else tuple(sorted(labels))
            for branch in step.next:
                if branch.target != END and branch.target not in step_ids:
                    self.problems.append(Problem(flow.file, branch.line, branch.col, where, f"next points to '{branch.target}', which is not a step of flow '{flow.id}' (known: {', '.join(step_ids)})", did_you_mean(branch.target, step_ids)))
                if branch.label is not None and branch.label not in allowed:
                    what = f"a reply to expect: {step.expect}" if step.kind == "ask" else "an answer in this flow"
                    self.problems.append(Problem(flow.file, branch.line, branch.col, where, f"'{branch.label}' can never be {what} (possible: {', '.join(allowed) or 'none'})", did_you_mean(branch.label, allowed)))

    def check_routing(self, routing: Routing, flows_dir: Path) -> None:
        file = str(flows_dir / "keywords.yaml")
        for keyword in routing.keywords:
            flow = self.flows.get(keyword.flow)
            if flow is None:
                self.problems.append(Problem(file, 1, 1, f"keyword '{keyword.name}'", f"flow '{keyword.flow}' does not exist", did_you_mean(keyword.flow, self.flows)))
            elif not keyword.interrupts and any(s.kind == "ask" for s in flow.steps):
                self.problems.append(Problem(file, 1, 1, f"keyword '{keyword.name}'", f"it has `interrupts: false` but flow '{flow.id}' asks a question", "A keyword that leaves the open question open may only say things."))
        for label, flow_id in (("join", routing.join_flow), ("fallback", routing.fallback_flow)):
            if flow_id not in self.flows:
                self.problems.append(Problem(file, 1, 1, label, f"flow '{flow_id}' does not exist", did_you_mean(flow_id, self.flows)))
        if routing.answer_as:
            flow_id, step_id = routing.answer_as
            step = self.flows[flow_id].step(step_id) if flow_id in self.flows else None
            if step is None or step.kind != "ask":
                self.problems.append(Problem(file, 1, 1, "fallback", f"answer_as '{flow_id}.{step_id}' is not an ask step of a flow"))

    def check_order(self, order: ProgramOrder, flows_dir: Path) -> None:
        file = str(flows_dir / "program.yaml")
        for key, ids in (("lessons", order.lessons), ("maintenance", order.maintenance)):
            seen: set[str] = set()
            for message_id in ids:
                if message_id in seen:
                    self.problems.append(Problem(file, 1, 1, key, f"'{message_id}' is listed twice"))
                seen.add(message_id)
                for locale in self.locales:
                    entry = self.catalogs.locales.get(locale, {}).get(message_id)
                    if entry is None:
                        self.problems.append(Problem(file, 1, 1, key, f"message '{message_id}' is not in messages/{locale}/", did_you_mean(message_id, self.catalogs.ids(locale))))
                    elif key == "lessons" and not entry.source:
                        self.problems.append(Problem(entry.file, entry.line, entry.col, f"message '{message_id}'", "a lesson needs `source:` naming the facts-sheet section it rests on"))


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
    for i, step in enumerate(flow.steps):
        if i not in reached:
            problems.append(Problem(flow.file, step.line, step.col, f"flow '{flow.id}', step '{step.id}'", "no path leads to this step, so it can never run", "Point a `next` at it, or delete it."))
    last = flow.steps[-1]
    ends = last.kind == "go" or any(b.label is None for b in last.next)
    if not ends:
        problems.append(Problem(flow.file, last.line, last.col, f"flow '{flow.id}', step '{last.id}'", "this is the last step but it does not say where the conversation goes next", "Add `next: end` if the flow ends here."))


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
                cycle = path[path.index(nxt):]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    flow = flows[nxt[0]]
                    step = flow.step(nxt[1])
                    loop = " -> ".join(f"{f}.{s}" for f, s in [*cycle, nxt])
                    if step:
                        problems.append(Problem(flow.file, step.line, step.col, f"flow '{flow.id}', step '{step.id}'", f"these steps loop for ever without asking anything: {loop}", "Put an ask step in the loop, or end it."))
            elif state.get(nxt) is None:
                visit(nxt, path)
        path.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
