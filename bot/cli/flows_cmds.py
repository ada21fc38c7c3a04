"""`craftbot flows validate|graph`: check an edit before families see it, and draw the flows."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.flows.graph import mermaid
from bot.program_files import ProgramFiles, load_program
from bot.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("flows", help="validate the flows and messages, or draw them")
    fsub = p.add_subparsers(dest="flows_command", required=True)
    v = fsub.add_parser(
        "validate", help="check every flow, message and lexicon; exit 1 on any problem"
    )
    v.add_argument(
        "path",
        nargs="?",
        type=Path,
        help="the program folder (with flows/ and messages/) or its flows/ folder",
    )
    v.set_defaults(handler=run_validate)
    g = fsub.add_parser("graph", help="write a Mermaid diagram per flow")
    g.add_argument("flow", nargs="?", help="only this flow")
    g.add_argument("--path", type=Path, help="the program folder")
    g.add_argument("--out", type=Path, help="write FLOW.mmd files here instead of printing")
    g.set_defaults(handler=run_graph)


def files_at(path: Path | None) -> ProgramFiles:
    if path is None:
        return ProgramFiles.at(Settings().program_dir)
    path = path.resolve()
    if (path / "flows").is_dir():
        return ProgramFiles.at(path)
    return ProgramFiles(path, path.parent / "messages")


def run_validate(args: argparse.Namespace) -> int:
    files = files_at(args.path)
    loaded, problems = load_program(files)
    if problems or loaded is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(
            f"{len(problems)} problem(s) found; nothing was changed. Fix them and run this again.",
            file=sys.stderr,
        )
        return 1
    program = loaded.program
    print(
        f"ok: {len(program.flows.flows)} flows, {len(loaded.catalogs.ids())} messages, "
        f"{len(program.flows.order.lessons)} lessons, {len(program.flows.routing.keywords)} keywords, "
        f"locales {', '.join(sorted(loaded.catalogs.locales))}"
    )
    return 0


def run_graph(args: argparse.Namespace) -> int:
    loaded, problems = load_program(files_at(args.path))
    if loaded is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    flows = loaded.program.flows.flows
    chosen = [args.flow] if args.flow else sorted(flows)
    for flow_id in chosen:
        if flow_id not in flows:
            print(
                f"there is no flow '{flow_id}' (known: {', '.join(sorted(flows))})", file=sys.stderr
            )
            return 1
        diagram = mermaid(flows[flow_id])
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{flow_id}.mmd").write_text(diagram, encoding="utf-8")
            print(args.out / f"{flow_id}.mmd")
        else:
            print(f"%% {flow_id}: {flows[flow_id].description}\n{diagram}")
    return 0
