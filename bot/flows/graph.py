"""Mermaid diagrams of flows, to look at instead of reading YAML."""

from __future__ import annotations

import re

from bot.flows.model import END, Flow
from bot.flows.validate import successors


def _node(step_id: str) -> str:
    return re.sub(r"\W", "_", step_id)


def _label(flow: Flow, index: int) -> str:
    s = flow.steps[index]
    detail = {
        "say": ", ".join(s.say) or (f"one of {s.rotate}.*" if s.rotate else ""),
        "ask": f"{s.ask} ({s.expect})",
        "go": f"go to flow {s.go}",
        "lesson": f"{s.lesson} lesson",
        "do": str(s.do),
    }[s.kind]
    record = f"<br/>record {', '.join(f'{k}={v}' for k, v in s.record.items())}" if s.record else ""
    return f'{s.kind}: {detail}{record}'.replace('"', "'")


def mermaid(flow: Flow) -> str:
    lines = ["flowchart TD", f'  start(["{flow.id}{" - " + flow.trigger if flow.trigger else ""}"])']
    if flow.steps:
        lines.append(f"  start --> {_node(flow.steps[0].id)}")
    ended = False
    for i, step in enumerate(flow.steps):
        shape = ('{{"', '"}}') if step.kind == "ask" else ('["', '"]')
        lines.append(f"  {_node(step.id)}{shape[0]}{step.id}<br/>{_label(flow, i)}{shape[1]}")
        labelled = {b.target: b.label for b in step.next}
        for flow_id, target in successors(flow, i):
            if flow_id != flow.id:
                lines.append(f'  {_node(step.id)} --> flow_{_node(flow_id)}[["flow {flow_id}"]]')
                continue
            label = labelled.get(target)
            if step.on_timeout == target:
                label = "no reply"
            arrow = f"-- {label} -->" if label else "-->"
            lines.append(f"  {_node(step.id)} {arrow} {_node(target)}")
        for branch in step.next:
            if branch.target == END:
                ended = True
                label = f"-- {branch.label} -->" if branch.label else "-->"
                lines.append(f"  {_node(step.id)} {label} finish")
        if step.on_timeout == END:
            ended = True
            lines.append(f"  {_node(step.id)} -- no reply --> finish")
    if ended:
        lines.append('  finish(["end"])')
    return "\n".join(lines) + "\n"
