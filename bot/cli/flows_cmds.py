"""`craftbot flows validate|graph`: check an edit before families see it, and draw the flows."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.catalog.render import Audience, render
from bot.cli.environment import CliError, program_files
from bot.flows.graph import mermaid, mermaid_all, mermaid_tracks
from bot.program_files import Loaded, ProgramFiles, load_program


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
    g = fsub.add_parser(
        "graph",
        help="draw flows as Mermaid: one flow, every flow in one diagram, or a file per flow",
    )
    g.add_argument("flow", nargs="?", help="only this flow (default: every flow)")
    g.add_argument("--path", type=Path, help="the program folder")
    g.add_argument(
        "--out",
        type=Path,
        help="write FLOW.mmd files into this folder; or, named NAME.mmd or NAME.md, one file",
    )
    g.add_argument(
        "--locale", help="show the first words of each message, in this language (en, es)"
    )
    g.set_defaults(handler=run_graph)


def files_at(path: Path | None) -> ProgramFiles:
    """The program folder an admin named (or the configured one); see environment.program_files."""
    return program_files(path)


def load_or_report(files: ProgramFiles) -> Loaded | None:
    loaded, problems = load_program(files)
    for problem in problems:
        print(problem, file=sys.stderr)
    if loaded is None:
        print(
            f"{len(problems)} problem(s) found; nothing was changed. Fix them and run this again.",
            file=sys.stderr,
        )
    return loaded


def words_in(loaded: Loaded, locale: str) -> Callable[[str], str]:
    """A message's words in `locale`, as a family with no details given would read them."""
    catalogs = loaded.catalogs
    if locale not in catalogs.locales:
        raise CliError(f"there is no locale '{locale}' (known: {', '.join(catalogs.locales)})")
    org = {"org": "Family Support Center", "org_contact": "555-0100"}
    return lambda message_id: render(catalogs, message_id, Audience("telegram", locale), org)


def run_validate(args: argparse.Namespace) -> int:
    loaded = load_or_report(files_at(args.path))
    if loaded is None:
        return 1
    program = loaded.program
    print(
        f"ok: {len(program.flows.flows)} flows, {len(loaded.catalogs.ids())} messages, "
        f"{len(program.flows.order.lessons)} lessons, {len(program.flows.routing.keywords)} "
        "keywords, "
        f"locales {', '.join(sorted(loaded.catalogs.locales))}"
    )
    return 0


TRACKS_GRAPH = "tracks"  # `craftbot flows graph tracks`: the tracks of flows/program.yaml


ONE_FILE = (".mmd", ".mermaid", ".md")


def show(diagram: str, out: Path | None) -> int:
    """Print a diagram, or write it to the file `out` names (in a Markdown file, fenced)."""
    if out is None:
        sys.stdout.write(diagram if diagram.endswith("\n") else diagram + "\n")
        return 0
    text = f"```mermaid\n{diagram.rstrip()}\n```\n" if out.suffix.lower() == ".md" else diagram
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None
    print(out)
    return 0


def run_graph(args: argparse.Namespace) -> int:
    """One flow: its diagram. No name: with --out, a file per flow; without, one diagram with
    every flow in its own subgraph (a valid Mermaid document, unlike diagrams glued together).
    An --out that names a file (.mmd, .mermaid; .md gets the diagram in a ```mermaid block)
    takes what would be printed."""
    files = files_at(args.path)
    one_file = args.out is not None and args.out.suffix.lower() in ONE_FILE
    if args.out is not None and one_file and args.out.is_dir():
        raise CliError(f"--out {args.out} is a folder; a diagram file needs a name of its own")
    if args.out is not None and not one_file and args.out.exists() and not args.out.is_dir():
        raise CliError(f"--out {args.out} is a file; give a folder for the .mmd files")
    loaded = load_or_report(files)
    if loaded is None:
        return 1
    flows = loaded.program.flows.flows
    if args.flow == TRACKS_GRAPH and TRACKS_GRAPH not in flows:
        diagram = mermaid_tracks(loaded.program.flows.order)
        if args.out is None or one_file:
            return show(
                f"%% tracks: the lessons of each stage (flows/program.yaml)\n{diagram}", args.out
            )
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{TRACKS_GRAPH}.mmd").write_text(diagram, encoding="utf-8")
        print(args.out / f"{TRACKS_GRAPH}.mmd")
        return 0
    if args.flow and args.flow not in flows:
        raise CliError(f"there is no flow '{args.flow}' (known: {', '.join(sorted(flows))})")
    words = words_in(loaded, args.locale) if args.locale else None
    if args.out is None or one_file:
        if args.flow:
            diagram = mermaid(flows[args.flow], words)
            return show(f"%% {args.flow}: {flows[args.flow].description}\n{diagram}\n", args.out)
        return show(mermaid_all(flows, words), args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    for flow_id in [args.flow] if args.flow else sorted(flows):
        target = args.out / f"{flow_id}.mmd"
        target.write_text(mermaid(flows[flow_id], words), encoding="utf-8")
        print(target)
    return 0
