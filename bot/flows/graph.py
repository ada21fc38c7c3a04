"""Mermaid diagrams of flows, to look at instead of reading YAML."""

from __future__ import annotations

import re

from bot.flows.model import END, Branch, Flow, Step

# Node names for the diagram's own shapes. Steps are named s_<id> and other flows f_<id>, so a
# step called "finish" or "start" (onboarding has one) can never be mistaken for these.
BEGIN, FINISH = "begin", "finish"


def _node(step_id: str) -> str:
    return "s_" + re.sub(r"\W", "_", step_id)


def _flow_node(flow_id: str) -> str:
    return "f_" + re.sub(r"\W", "_", flow_id)


def _target(target: str) -> str:
    return FINISH if target == END else _node(target)


def _label(s: Step) -> str:
    detail = {
        "say": ", ".join(s.say) or (f"one of {s.rotate}.*" if s.rotate else ""),
        "ask": f"{s.ask} ({s.expect})",
        "go": f"go to flow {s.go}",
        "lesson": f"{s.lesson} lesson",
        "do": str(s.do),
    }[s.kind]
    saves = f"<br/>save {s.save}" if s.save else ""
    record = f"<br/>record {', '.join(f'{k}={v}' for k, v in s.record.items())}" if s.record else ""
    return f"{s.kind}: {detail}{saves}{record}".replace('"', "'")


def _arrow(label: str | None) -> str:
    return f"-- {label} -->" if label else "-->"


def _edges(flow: Flow, index: int) -> list[str]:
    """Every way out of one step: its go, its timeout, its branches, and falling through."""
    step = flow.steps[index]
    here = _node(step.id)
    if step.kind == "go":
        return [f'  {here} --> {_flow_node(step.go or "")}[["flow {step.go}"]]']
    lines = []
    if step.on_timeout:
        lines.append(f"  {here} -- no reply --> {_target(step.on_timeout)}")
    labelled = any(b.label is not None for b in step.next)
    else_branch: Branch | None = None
    for branch in step.next:
        if branch.label is None:
            else_branch = branch
            break  # nothing after `else` is ever taken
        lines.append(f"  {here} {_arrow(branch.label)} {_target(branch.target)}")
    otherwise = "else" if labelled else None
    if else_branch is not None:
        lines.append(f"  {here} {_arrow(otherwise)} {_target(else_branch.target)}")
    elif index + 1 < len(flow.steps):
        lines.append(f"  {here} {_arrow(otherwise)} {_node(flow.steps[index + 1].id)}")
    else:
        lines.append(f"  {here} {_arrow(otherwise)} {FINISH}")
    return lines


def mermaid(flow: Flow) -> str:
    """A `flowchart TD` with one node per step: questions are hexagons, the rest rectangles."""
    trigger = f"<br/>starts on {flow.trigger}" if flow.trigger else ""
    lines = ["flowchart TD", f'  {BEGIN}(["flow {flow.id}{trigger}"])']
    if flow.steps:
        lines.append(f"  {BEGIN} --> {_node(flow.steps[0].id)}")
    body: list[str] = []
    for i, step in enumerate(flow.steps):
        opening, closing = ('{{"', '"}}') if step.kind == "ask" else ('["', '"]')
        body.append(f"  {_node(step.id)}{opening}{step.id}<br/>{_label(step)}{closing}")
        body.extend(_edges(flow, i))
    lines.extend(body)
    if any(line.endswith(f" {FINISH}") for line in body):
        lines.append(f'  {FINISH}(["end"])')
    return "\n".join(lines) + "\n"
