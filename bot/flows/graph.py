"""Mermaid diagrams of flows, to look at instead of reading YAML."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping

from bot.flows.model import END, TRACKS, Branch, Flow, ProgramOrder, Step

# Node names for the diagram's own shapes. Steps are named s_<id> and other flows f_<id>, so a
# step called "finish" or "start" (onboarding has one) can never be mistaken for these.
BEGIN, FINISH = "begin", "finish"
SNIPPET = 48  # how much of a message's words a node shows, with --locale
Words = Callable[[str], str]  # message id -> its words in one language


def _safe(text: str) -> str:
    return re.sub(r"\W", "_", text)


def _node(step_id: str, ns: str = "") -> str:
    return f"{ns}s_{_safe(step_id)}"


def _flow_node(flow_id: str) -> str:
    return "f_" + _safe(flow_id)


def _target(target: str, ns: str = "") -> str:
    return f"{ns}{FINISH}" if target == END else _node(target, ns)


def _label(s: Step, words: Words | None = None) -> str:
    detail = {
        "say": ", ".join(s.say) or (f"one of {s.rotate}.*" if s.rotate else ""),
        "ask": f"{s.ask} ({s.expect})",
        "go": f"go to flow {s.go}",
        "lesson": f"{s.lesson} lesson",
        "do": str(s.do),
        "branch": str(s.branch or ""),
    }[s.kind]
    if s.append:
        detail += f", ending with {s.append}"
    saves = f"<br/>save {s.save}" if s.save else ""
    saves += " (asked only when not known)" if s.skip_if_known else ""
    record = f"<br/>record {', '.join(f'{k}={v}' for k, v in s.record.items())}" if s.record else ""
    said = "".join(f"<br/><i>{_snippet(words(i))}</i>" for i in (*s.say, s.ask) if i and words)
    return f"{s.kind}: {detail}{saves}{record}{said}".replace('"', "'")


def _snippet(text: str) -> str:
    """The first words of a message, on one line, safe inside a Mermaid label."""
    line = " ".join(text.split()).replace("<", "(").replace(">", ")").replace("#", "no. ")
    return line if len(line) <= SNIPPET else line[: SNIPPET - 3].rstrip() + "..."


def _arrow(label: str | None) -> str:
    return f"-- {label} -->" if label else "-->"


def _edges(flow: Flow, index: int, ns: str = "", flows: Collection[str] = ()) -> list[str]:
    """Every way out of one step: its go, its timeout, its branches, and falling through.

    In a combined diagram (`flows` given) a go leads to the other flow's start node.
    """
    step = flow.steps[index]
    here = _node(step.id, ns)
    if step.kind == "go":
        if step.go is not None and step.go in flows:
            return [f"  {here} --> {_namespace(step.go)}{BEGIN}"]
        return [f'  {here} --> {ns}{_flow_node(step.go or "")}[["flow {step.go}"]]']
    lines = []
    if step.on_timeout:
        lines.append(f"  {here} -- no reply --> {_target(step.on_timeout, ns)}")
    labelled = any(b.label is not None for b in step.next)
    else_branch: Branch | None = None
    for branch in step.next:
        if branch.label is None:
            else_branch = branch
            break  # nothing after `else` is ever taken
        lines.append(f"  {here} {_arrow(branch.label)} {_target(branch.target, ns)}")
    otherwise = "else" if labelled else None
    if else_branch is not None:
        lines.append(f"  {here} {_arrow(otherwise)} {_target(else_branch.target, ns)}")
    elif index + 1 < len(flow.steps):
        lines.append(f"  {here} {_arrow(otherwise)} {_node(flow.steps[index + 1].id, ns)}")
    else:
        lines.append(f"  {here} {_arrow(otherwise)} {ns}{FINISH}")
    return lines


def _namespace(flow_id: str) -> str:
    return f"f_{_safe(flow_id)}__"


def _body(
    flow: Flow, ns: str = "", flows: Collection[str] = (), words: Words | None = None
) -> list[str]:
    trigger = f"<br/>starts on {flow.trigger}" if flow.trigger else ""
    lines = [f'  {ns}{BEGIN}(["flow {flow.id}{trigger}"])']
    if flow.steps:
        lines.append(f"  {ns}{BEGIN} --> {_node(flow.steps[0].id, ns)}")
    body: list[str] = []
    for i, step in enumerate(flow.steps):
        opening, closing = ('{{"', '"}}') if step.kind == "ask" else ('["', '"]')
        label = _label(step, words)
        body.append(f"  {_node(step.id, ns)}{opening}{step.id}<br/>{label}{closing}")
        body.extend(_edges(flow, i, ns, flows))
    lines.extend(body)
    if any(line.endswith(f" {ns}{FINISH}") for line in body):
        lines.append(f'  {ns}{FINISH}(["end"])')
    return lines


def mermaid(flow: Flow, words: Words | None = None) -> str:
    """A `flowchart TD` with one node per step: questions are hexagons, the rest rectangles.
    With `words`, each node that says or asks something shows its first words in that language."""
    return "\n".join(["flowchart TD", *_body(flow, words=words)]) + "\n"


def mermaid_all(flows: Mapping[str, Flow], words: Words | None = None) -> str:
    """Every flow in one `flowchart TD`, each in its own subgraph; a `go` arrow crosses to the
    flow it starts. Node names carry their flow's name, so two flows' `ask` steps stay apart."""
    lines = ["flowchart TD"]
    for flow_id in sorted(flows):
        flow = flows[flow_id]
        title = f"{flow_id}: {flow.description}".replace('"', "'")
        lines.append(f'  subgraph {_namespace(flow_id)}flow ["{title}"]')
        lines.extend("  " + line for line in _body(flow, _namespace(flow_id), flows, words))
        lines.append("  end")
    return "\n".join(lines) + "\n"


# How the stage question's answers move a family (flows/program_questions.yaml, expect: stage).
STAGE_ANSWERS = {"engaging": "1 not yet", "treatment": "2 in treatment", "recovery": "3 stopped"}


def mermaid_tracks(order: ProgramOrder) -> str:
    """The tracks of flows/program.yaml as states: the stage question (every two weeks, and on
    UPDATE) moves a family from any track to the one its answer names; each track's lessons end
    in the review rotation."""
    lines = ["flowchart LR", '  stage{{"stage question<br/>every two weeks, UPDATE"}}']
    for track in TRACKS:
        lessons = order.track_lessons(track)
        lines.append(f'  t_{track}["{track} track<br/>{len(lessons)} lessons, one a day"]')
        lines.append(f"  stage -- {STAGE_ANSWERS[track]} --> t_{track}")
        lines.append(f"  t_{track} --> stage")
        lines.append(f"  t_{track} -- after its last lesson --> reviews")
    lines.append(
        f'  reviews["the review rotation<br/>{len(order.maintenance)} reviews, round again"]'
    )
    lines.append("  stage -- 4 not sure --> stage")
    return "\n".join(lines) + "\n"
