"""`craftbot flows graph`: a Mermaid diagram per flow that shows every step and every way out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bot.flows.graph import mermaid, mermaid_all, mermaid_tracks
from bot.flows.model import Branch, Flow, Step
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
        ("no reply", "s_evening_end"),  # the Sunday summary comes even without an answer
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
    assert result.returncode == 2
    assert "there is no flow 'chekin'" in result.stderr
    assert "checkin" in result.stderr.split("known:")[1]


def test_graph_of_a_broken_program_shows_the_problems_instead(tmp_path: Path) -> None:
    # given a copy of the program with a typo in a flow
    root = tmp_path / "program"
    for part in ("flows", "messages"):
        shutil.copytree(REPO_ROOT / part, root / part)
    daily = root / "flows" / "daily.yaml"
    daily.write_text(
        daily.read_text(encoding="utf-8").replace("then: reward\n", "then: rewrd\n"),
        encoding="utf-8",
    )
    # when the diagram is asked for
    result = craftbot("flows", "graph", "checkin", "--path", str(root), cwd=tmp_path)
    # then nothing is drawn and the errors say where
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{daily}:44:17: flow 'checkin', step 'ask': next points to 'rewrd'" in result.stderr


# --- every flow at once: a diagram a Mermaid parser accepts ---------------------------------------
HEADER = re.compile(r"^(flowchart|graph) (TD|TB|BT|LR|RL)$")
ANY_NODE = re.compile(r"^\s*(\w+)(\{\{|\[\[|\[|\(\[)\"([^\"]*)\"(\}\}|\]\]|\]|\]\))$")
ANY_EDGE = re.compile(r"^\s*(\w+) (?:-- ([^\"]+?) )?--> (\w+)(\[\[\"[^\"]*\"\]\])?$")
SUBGRAPH = re.compile(r'^\s*subgraph (\w+) \["[^"]*"\]$')


def mermaid_problems(document: str) -> list[str]:
    """Structural checks a Mermaid flowchart parser also makes: one header, first; every line a
    node, an edge, a subgraph or its end; every node an edge names is defined; ids unique."""
    problems: list[str] = []
    lines = [line for line in document.splitlines() if line.strip() and not line.startswith("%%")]
    headers = [i for i, line in enumerate(lines) if HEADER.match(line.strip())]
    if headers != [0]:
        problems.append(f"expected one flowchart header, first; found it at lines {headers}")
    defined: dict[str, int] = {}
    used: set[str] = set()
    depth = 0
    for number, line in enumerate(lines[1:], start=2):
        if node := ANY_NODE.match(line):
            if node.group(1) in defined:
                problems.append(f"line {number}: node {node.group(1)} is defined twice")
            defined[node.group(1)] = number
        elif edge := ANY_EDGE.match(line):
            used.update({edge.group(1), edge.group(3)})
            if edge.group(4):
                defined.setdefault(edge.group(3), number)
        elif SUBGRAPH.match(line):
            depth += 1
        elif line.strip() == "end":
            depth -= 1
            if depth < 0:
                problems.append(f"line {number}: 'end' closes no subgraph")
        else:
            problems.append(f"line {number}: not a node, an edge or a subgraph: {line!r}")
    if depth > 0:
        problems.append(f"{depth} subgraph(s) never closed")
    problems += [f"node {name} is used but never defined" for name in sorted(used - set(defined))]
    return problems


def test_the_structure_check_refuses_what_a_mermaid_parser_refuses() -> None:
    flows = shipped().program.flows.flows
    glued = mermaid(flows["checkin"]) + mermaid(flows["stop"])  # what `graph` printed before
    assert "expected one flowchart header" in "".join(mermaid_problems(glued))
    assert mermaid_problems('flowchart TD\n  a --> b\n  a["x"]\n') == [
        "node b is used but never defined"
    ]
    assert mermaid_problems('flowchart TD\n  subgraph g ["x"]\n  a["x"]\n') == [
        "1 subgraph(s) never closed"
    ]


def test_graph_without_a_flow_name_prints_one_valid_diagram_of_every_flow(tmp_path: Path) -> None:
    # when an admin asks for the diagram without naming a flow
    result = craftbot("flows", "graph", cwd=tmp_path)
    # then one flowchart holds every flow, each in a subgraph, and it is well formed
    assert result.returncode == 0, result.stderr
    assert mermaid_problems(result.stdout) == []
    flows = shipped().program.flows.flows
    titles = re.findall(r'^  subgraph \w+ \["(\w+): ', result.stdout, re.MULTILINE)
    assert titles == sorted(flows)


def test_in_the_diagram_of_every_flow_a_go_leads_into_the_flow_it_starts() -> None:
    # given two flows, one of which goes to the other
    first = Flow("first", "goes on", "f.yaml", 1, (Step("hop", "go", 2, 1, go="second"),))
    second = Flow(
        "second",
        "says",
        "f.yaml",
        5,
        (Step("hi", "say", 6, 1, say=("x",), next=(Branch(None, "end"),)),),
    )
    # when both are drawn together
    diagram = mermaid_all({"first": first, "second": second})
    # then the go arrow leads to the second flow's start, and the diagram is well formed
    assert "    f_first__s_hop --> f_second__begin" in diagram.splitlines()
    assert mermaid_problems(diagram) == []


def test_every_diagram_file_and_each_single_flow_is_well_formed(tmp_path: Path) -> None:
    out = tmp_path / "diagrams"
    assert craftbot("flows", "graph", "--out", str(out), cwd=tmp_path).returncode == 0
    for path in sorted(out.iterdir()):
        assert mermaid_problems(path.read_text(encoding="utf-8")) == [], path.name
    single = craftbot("flows", "graph", "onboarding", cwd=tmp_path)
    assert single.returncode == 0 and mermaid_problems(single.stdout) == []


def test_the_tracks_are_drawn_from_the_program_with_the_stage_answers_between_them() -> None:
    order = shipped().program.flows.order
    diagram = mermaid_tracks(order)
    assert f"engaging track<br/>{len(order.lessons)} lessons" in diagram
    assert f"treatment track<br/>{len(order.tracks['treatment'])} lessons" in diagram
    for answer, track in (("2 in treatment", "treatment"), ("3 stopped", "recovery")):
        assert f"stage -- {answer} --> t_{track}" in diagram
    # and the check-in draws the track's replies and the safety plan as branches
    checkin = mermaid(shipped().program.flows.flows["checkin"])
    assert "s_step_back -- unsafe --> s_safety_plan" in checkin
    assert "s_reward -- track_treatment --> s_reward_treatment" in checkin


def test_graph_out_naming_a_file_writes_that_file(tmp_path: Path) -> None:
    """`--out README.md` made a folder called README.md with a file per flow in it."""
    # when an admin names a diagram file, or a Markdown page, for --out
    one = craftbot("flows", "graph", "checkin", "--out", "checkin.mmd", cwd=tmp_path)
    page = craftbot("flows", "graph", "--out", "docs/flows.md", cwd=tmp_path)
    # then each is one file: the flow's diagram, and every flow's in a Mermaid block
    assert one.returncode == 0 and page.returncode == 0, one.stderr + page.stderr
    diagram = (tmp_path / "checkin.mmd").read_text(encoding="utf-8")
    assert mermaid_problems(diagram) == [] and "flowchart" in diagram
    text = (tmp_path / "docs" / "flows.md").read_text(encoding="utf-8")
    assert text.startswith("```mermaid\n") and text.endswith("```\n")
    assert mermaid_problems(text.removeprefix("```mermaid\n").removesuffix("```\n")) == []
