"""`craftbot flows graph`: a Mermaid diagram per flow that shows every step and every way out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bot.flows.graph import mermaid
from bot.settings import REPO_ROOT
from tests.program import shipped

NODE = re.compile(r"^  (\w+)(\{\{|\[\[|\[|\(\[)\"")
EDGE = re.compile(r"^  (\w+) (?:-- (.+?) )?--> (\w+)")


def craftbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRAFTBOT_PROGRAM_DIR": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def nodes(diagram: str) -> dict[str, str]:
    """Node name -> its text, for every node the diagram defines (inline ones too)."""
    found: dict[str, str] = {}
    for line in diagram.splitlines():
        match = NODE.match(line)
        if match:
            assert match.group(1) not in found, f"node {match.group(1)} is defined twice"
            found[match.group(1)] = line
        inline = re.search(r"--> (\w+)\[\[\"(.+)\"\]\]$", line)
        if inline:
            found[inline.group(1)] = inline.group(2)
    return found


def edges(diagram: str) -> list[tuple[str, str | None, str]]:
    return [
        (m.group(1), m.group(2), m.group(3))
        for line in diagram.splitlines()
        if (m := EDGE.match(line))
    ]


def test_graph_of_checkin_prints_a_flowchart_with_every_step(tmp_path: Path) -> None:
    # when an admin asks for the check-in diagram
    result = craftbot("flows", "graph", "checkin", cwd=tmp_path)
    # then it is a Mermaid top-down flowchart naming every step of the flow
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("%% checkin: ")
    assert lines[1] == "flowchart TD"
    flow = shipped().program.flows.flows["checkin"]
    defined = nodes(result.stdout)
    for step in flow.steps:
        assert f"s_{step.id}" in defined, f"step {step.id} is missing from the diagram"
        assert f'"{step.id}<br/>{step.kind}: ' in defined[f"s_{step.id}"]


def test_graph_shows_each_answer_of_the_checkin_question_as_a_labelled_arrow() -> None:
    diagram = mermaid(shipped().program.flows.flows["checkin"])
    out_of_ask = {(label, target) for source, label, target in edges(diagram) if source == "s_ask"}
    assert out_of_ask == {
        ("non_use", "s_reward"),
        ("use", "s_step_back"),
        ("unsure", "s_unsure"),
        ("else", "s_window"),
        ("no reply", "finish"),
    }
    assert (
        's_ask{{"ask<br/>ask: checkin.question (checkin)"}}' in diagram
    )  # a question is a hexagon


def test_every_arrow_of_every_shipped_flow_leads_to_a_node_of_its_diagram() -> None:
    for flow in shipped().program.flows.flows.values():
        diagram = mermaid(flow)
        defined = nodes(diagram)
        for source, _, target in edges(diagram):
            assert source in defined and target in defined, f"{flow.id}: {source} --> {target}"
        reached = {target for _, _, target in edges(diagram)}
        assert {f"s_{s.id}" for s in flow.steps} <= reached, (
            f"{flow.id}: a step has no arrow into it"
        )


def test_a_step_named_finish_is_not_confused_with_the_end_of_the_flow() -> None:
    # given onboarding, whose step 'finish' completes onboarding
    diagram = mermaid(shipped().program.flows.flows["onboarding"])
    # then that step and the end of the flow are two different nodes
    defined = nodes(diagram)
    assert "complete_onboarding" in defined["s_finish"]
    assert defined["finish"] == '  finish(["end"])'
    assert ("s_first_lesson", None, "finish") in edges(diagram)
    assert ("s_consent", "no reply", "finish") in edges(diagram)


def test_graph_out_writes_one_mmd_file_per_flow(tmp_path: Path) -> None:
    out = tmp_path / "diagrams"
    result = craftbot("flows", "graph", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    flows = shipped().program.flows.flows
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{flow_id}.mmd" for flow_id in flows)
    for flow_id, flow in flows.items():
        text = (out / f"{flow_id}.mmd").read_text(encoding="utf-8")
        assert text == mermaid(flow)
        assert text.startswith("flowchart TD\n")


def test_graph_of_an_unknown_flow_names_the_known_ones(tmp_path: Path) -> None:
    result = craftbot("flows", "graph", "chekin", cwd=tmp_path)
    assert result.returncode == 1
    assert "there is no flow 'chekin'" in result.stderr
    assert "checkin" in result.stderr.split("known:")[1]


def test_graph_of_a_broken_program_shows_the_problems_instead(tmp_path: Path) -> None:
    # given a copy of the program with a typo in a flow
    root = tmp_path / "program"
    for part in ("flows", "messages"):
        shutil.copytree(REPO_ROOT / part, root / part)
    daily = root / "flows" / "daily.yaml"
    daily.write_text(
        daily.read_text(encoding="utf-8").replace("then: reward", "then: rewrd"), encoding="utf-8"
    )
    # when the diagram is asked for
    result = craftbot("flows", "graph", "checkin", "--path", str(root), cwd=tmp_path)
    # then nothing is drawn and the errors say where
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{daily}:22:17: flow 'checkin', step 'ask': next points to 'rewrd'" in result.stderr
