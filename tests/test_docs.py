"""The docs agree with the repository: links resolve, named files exist, and the facts the docs
state about the code (the banned words, the chat's clock) are the code's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.catalog.banned_terms import load_banned_terms
from bot.cli import chat_cmd
from bot.settings import REPO_ROOT

DOCS = sorted([REPO_ROOT / "README.md", *(REPO_ROOT / "docs").glob("*.md")])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|````).*?^\1", re.MULTILINE | re.DOTALL)
# A code span that is one repository path: `messages/banned_terms.yaml`, `tests/data/import/`.
PATH_SPAN = re.compile(r"`((?:[\w.-]+/)+[\w.-]*)`")
FILE_LIKE = re.compile(r"\.(md|ya?ml|py|csv|toml|txt)$|/$")


def prose(path: Path) -> str:
    """The text outside fenced code blocks (examples there may name files that are made later)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: '## Hot reload: editing a running bot' -> 'hot-reload-...'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", prose(path), re.MULTILINE)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = []
    for target in LINK.findall(prose(doc)):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        if not linked.exists():
            broken.append(f"{target}: {linked} does not exist")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading '#{anchor}' in {linked.name}")
    assert broken == [], f"{doc.name}: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_repository_path_the_prose_names_exists(doc: Path) -> None:
    missing = []
    for span in PATH_SPAN.findall(prose(doc)):
        if not FILE_LIKE.search(span) or span.startswith(("~", "..")):
            continue
        here, root = doc.parent / span, REPO_ROOT / span
        if not here.exists() and not root.exists():
            missing.append(span)
    assert missing == [], f"{doc.name} names files that are not in the repository: {missing}"


def test_the_link_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    assert slug("Validation, and how to read an error") == "validation-and-how-to-read-an-error"
    assert slug("Trying an edit: chat and transcripts") == "trying-an-edit-chat-and-transcripts"
    assert LINK.findall("see [a](docs/x.md#y) and ![img](i.png)") == ["docs/x.md#y"]
    assert PATH_SPAN.findall("from `shared/content/craft-facts.md` §4") == [
        "shared/content/craft-facts.md"
    ]


# --- facts the docs state about the code ----------------------------------------------------------
def banned_words_in_content_md() -> list[str]:
    """The words docs/content.md lists as banned: 'abuse (and abuser, abusing)' gives all three."""
    text = (REPO_ROOT / "docs" / "content.md").read_text(encoding="utf-8")
    found = re.search(r"The words below are\s+banned[^:]*:\s*(.+?)\.\s", text, re.DOTALL)
    assert found, "docs/content.md no longer lists the banned words where this test looks"
    listed = " ".join(found.group(1).split())
    words: list[str] = []
    for also in re.findall(r"\(and ([^)]*)\)", listed):
        words += [w.strip() for w in also.split(",")]
    listed = re.sub(r"\([^)]*\)", "", listed)
    return words + [w.strip() for w in listed.split(",") if w.strip()]


def test_the_banned_words_in_the_docs_and_in_the_list_are_the_same() -> None:
    terms, problems = load_banned_terms(REPO_ROOT / "messages" / "banned_terms.yaml")
    assert problems == []
    documented = banned_words_in_content_md()
    assert len(documented) >= 15
    # every word the docs ban is refused by the checks
    assert [w for w in documented if terms.find(w) is None] == []
    # and every term the checks refuse is named in the docs
    said = {w.lower() for w in documented}
    assert [t.words for t in terms.terms if not said & {w.lower() for w in t.words}] == []


def test_the_docs_give_the_chat_clock_start_the_chat_uses() -> None:
    flows_md = (REPO_ROOT / "docs" / "flows.md").read_text(encoding="utf-8")
    stated = re.search(
        r"virtual clock \(it starts at (\d\d:\d\d) today", " ".join(flows_md.split())
    )
    assert stated, "docs/flows.md no longer says when the chat clock starts"
    assert stated.group(1) == chat_cmd.CLOCK_STARTS.strftime("%H:%M")
