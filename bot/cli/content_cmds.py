"""`craftbot content check|preview`: read the program as a family will, before they do."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.catalog import discreet
from bot.catalog.audiences import (
    SHARED_HOME_FILE,
    coverage,
    load_shared_home_phrases,
    misplaced_context_placeholders,
    shared_home_defaults,
)
from bot.catalog.awaiting import AWAITING_FILE, Awaiting, load_awaiting
from bot.catalog.catalog import Catalogs
from bot.catalog.check import sms_as_sent
from bot.catalog.locales import LOCALES_FILE, locale_gaps
from bot.catalog.render import Audience, render
from bot.catalog.segments import count_segments
from bot.cli.environment import CliError
from bot.cli.flows_cmds import files_at
from bot.flows.model import EXPECT_LABELS
from bot.problems import Problem
from bot.program_files import Loaded, load_program

# A sample week for the summary's numbers in a preview.
SAMPLE_WEEK = {"non_use_days": "4", "use_days": "2", "unsure_days": "1", "wellbeing": "2, then 3"}
# How a sample organisation is reached, in each locale's words (the rest of a preview is English).
SAMPLE_CONTACT = {"en": "call 555-0100", "es": "llama al 555-0100"}
EVENING_LABELS = {"reward": "a non-use day", "step_back": "a use day", "unsure": "an unsure answer"}


def register(sub: Any) -> None:
    p = sub.add_parser("content", help="check the message catalog, or preview the program")
    csub = p.add_subparsers(dest="content_command", required=True)
    c = csub.add_parser("check", help="check lengths, placeholders and wording of every message")
    c.add_argument("--path", type=Path)
    c.add_argument("--locale", help="report this locale only (default: every locale)")
    c.set_defaults(handler=run_check)
    v = csub.add_parser("preview", help="write the program as one family would read it")
    v.add_argument("--relationship", default="parent", choices=EXPECT_LABELS["relationship"])
    v.add_argument("--name", default="Sam", help="the family member's first name")
    v.add_argument(
        "--loved-one", dest="loved_one", default="", help="the loved one's name (empty: 'your ...')"
    )
    v.add_argument(
        "--rewards", default="", help="what the loved one enjoys (fills rewards variants)"
    )
    v.add_argument("--channel", default="sms", choices=("sms", "telegram", "email"))
    v.add_argument("--locale", default="en", help="the language to read it in (en, es)")
    v.add_argument(
        "--country", help="whose numbers the lessons name (default: DEFAULT_COUNTRY, US)"
    )
    v.add_argument("--out", type=Path, help="write Markdown here (default: print)")
    v.add_argument("--path", type=Path)
    v.set_defaults(handler=run_preview)


def _load(path: Path | None) -> Loaded | None:
    loaded, problems = load_program(files_at(path))
    for problem in problems:
        print(problem, file=sys.stderr)
    return loaded


def run_check(args: argparse.Namespace) -> int:
    loaded = _load(args.path)
    if loaded is None:
        return 1
    catalogs = loaded.catalogs
    locales = [args.locale] if args.locale else sorted(catalogs.locales)
    unknown = [x for x in locales if x not in catalogs.locales]
    if unknown:
        raise CliError(f"there is no locale '{unknown[0]}' (known: {', '.join(catalogs.locales)})")
    print("ok: every message passes")
    for locale in locales:
        print(sms_figures(catalogs, locale))
        print(discreet_figures(catalogs, locale))
    return report_audiences(catalogs, files_at(args.path).messages_dir, locales)


def discreet_figures(catalogs: Catalogs, locale: str) -> str:
    """How a locale's messages start in discreet mode (docs/privacy.md); the check has passed."""
    entries = catalogs.locales.get(locale, {})
    own = sum(1 for entry in entries.values() if entry.discreet)
    return (
        f"{locale}: discreet mode: all {len(entries)} messages start with a line a lock screen can "
        f"show ({own} their own, {len(entries) - own} {discreet.LEAD}; crisis replies keep theirs)"
    )


def sms_figures(catalogs: Catalogs, locale: str) -> str:
    """One locale's SMS forms as sent (long names filled in): segments, and how accents fared."""
    segments: dict[int, int] = {}
    plain = kept = 0
    entries = catalogs.locales.get(locale, {})
    for entry in entries.values():
        for forms in entry.variants().values():
            text = forms.sms or forms.text
            written, sent = sms_as_sent(catalogs, entry, text)
            encoding, n = count_segments(sent)
            segments[n] = segments.get(n, 0) + 1
            plain += sent != written
            kept += encoding == "UCS-2"
    spread = ", ".join(f"{n} in {s} segment(s)" for s, n in sorted(segments.items()))
    total = sum(segments.values())
    return (
        f"{locale}: {len(entries)} messages, {total} SMS forms: {spread}; {plain} leave out "
        f"accents to save segments, {kept} keep them (UCS-2 costs no extra segment there)"
    )


def report_audiences(
    catalogs: Catalogs, messages_dir: Path, locales: list[str] | None = None
) -> int:
    """Words per relationship, defaults that assume a shared home, messages awaiting flows, and
    what a complete locale lacks."""
    phrases, problems = load_shared_home_phrases(messages_dir / SHARED_HOME_FILE)
    problems += locale_gaps(
        {x: catalogs.ids(x) for x in catalogs.locales},
        catalogs.rules,
        catalogs.default_locale,
        str(messages_dir / LOCALES_FILE),
    )
    awaiting, awaiting_problems = load_awaiting(messages_dir / AWAITING_FILE)
    flagged = shared_home_defaults(catalogs, phrases)
    problems += awaiting_problems + flagged + misplaced_context_placeholders(catalogs)
    problems += [
        Problem(str(messages_dir / AWAITING_FILE), 1, 1, "", f"'{name}' matches no message")
        for name in awaiting.unmatched(catalogs.ids())
    ]
    for problem in sorted(problems):
        print(problem, file=sys.stderr)
    for locale in locales or [catalogs.default_locale]:
        rows = coverage(catalogs, locale)
        total = rows[0].own + rows[0].default if rows else 0
        print(f"relationship variants ({locale}), of {total} messages:")
        for row in rows:
            label = "child (adult child)" if row.relationship == "child" else row.relationship
            note = " (defaults are written to fit anyone)" if row.relationship == "other" else ""
            print(
                f"  {label:<20}{row.own:>4} in their own words, {row.default:>4} use the "
                f"default{note}"
            )
    count = sum(len(v) for v in phrases.values())
    if flagged:
        print(f"shared home: {len(flagged)} default form(s) assume one (listed above)")
    else:
        print(f"shared home: no default assumes one ({count} phrases in {SHARED_HOME_FILE})")
    waiting = [i for i in catalogs.ids() if awaiting.reason(i)]
    print(f"awaiting their flows: {len(waiting)} messages ({AWAITING_FILE})")
    return 1 if problems else 0


def run_preview(args: argparse.Namespace) -> int:
    loaded = _load(args.path)
    if loaded is None:
        return 1
    if args.locale not in loaded.catalogs.locales:
        known = ", ".join(loaded.catalogs.locales)
        raise CliError(f"there is no locale '{args.locale}' (known: {known})")
    country = (args.country or loaded.program.crisis.default_country).upper()
    text = preview(
        loaded,
        args.relationship,
        args.name,
        args.loved_one,
        args.rewards,
        args.channel,
        locale=args.locale,
        country=country,
    )
    awaiting, _ = load_awaiting(files_at(args.path).messages_dir / AWAITING_FILE)
    text += preview_awaiting(
        loaded,
        awaiting,
        args.relationship,
        args.name,
        args.loved_one,
        locale=args.locale,
        country=country,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(args.out)
    else:
        print(text)
    return 0


def preview(
    loaded: Loaded,
    relationship: str,
    name: str,
    loved_one: str,
    rewards: str,
    channel: str,
    locale: str = "en",
    country: str = "US",
) -> str:
    """Day by day: the lesson, then one evening reply of each kind in the order a family meets
    them."""
    program, catalogs = loaded.program, loaded.catalogs
    profile = {
        "name": name,
        "relationship": relationship,
        "loved_one": loved_one,
        "rewards": rewards,
        "lesson_time": "09:00",
        "checkin_time": "19:00",
        "country": country,
        **SAMPLE_WEEK,
    }
    audience = Audience(channel=channel, locale=locale, profile=profile)
    org = {"org": "Family Support Center", "org_contact": SAMPLE_CONTACT.get(locale, "555-0100")}

    def say(message_id: str) -> str:
        return render(catalogs, message_id, audience, org)

    who = f"{name}, {relationship}" + (f" of {loved_one}" if loved_one else "")
    out = [f"# The program, as {who} reads it ({channel}, {locale})", ""]
    lessons = program.flows.order.lessons
    evening = ["reward", "step_back", "unsure"]
    turns = dict.fromkeys([*evening, "selfcare", "window"], 0)
    for day, lesson_id in enumerate(lessons, start=1):
        if (day - 1) % 7 == 0:
            out += [f"## Week {(day - 1) // 7 + 1}", ""]
        out += [f"### Day {day}: {lesson_id}", "", say(lesson_id), ""]
        kind = evening[(day - 1) % 3]
        pool = program.pools.get(kind, ())
        if pool:
            reply = pool[turns[kind] % len(pool)]
            turns[kind] += 1
            out += [f"*Evening, after {EVENING_LABELS[kind]} ({reply}):* {say(reply)}", ""]
        if day % 3 == 0 and program.pools.get("selfcare"):
            nudge = program.pools["selfcare"][turns["selfcare"] % len(program.pools["selfcare"])]
            turns["selfcare"] += 1
            out += [f"*Self-care nudge ({nudge}):* {say(nudge)}", ""]
    out += ["## After the last lesson: the review rotation", ""]
    for review_id in program.flows.order.maintenance:
        out += [f"- **{review_id}**: {say(review_id)}"]
    # The other tracks (flows/program.yaml `tracks:`), which the stage question moves a family
    # onto, with their own evening replies; then the program's own questions.
    for track, track_lessons in program.flows.order.tracks.items():
        out += ["", f"## The {track} track: its lessons, one a day, then the reviews", ""]
        out += [f"- **{lesson_id}**: {say(lesson_id)}" for lesson_id in track_lessons]
        for kind in ("reward", "step_back"):
            for reply in program.pools.get(f"{track}_{kind}", ()):
                out += [f"- *Evening, {EVENING_LABELS[kind]}* ({reply}): {say(reply)}"]
    out += ["", "## The program's own questions (flows/program_questions.yaml)", ""]
    for prefix in ("safety", "stage", "wellbeing", "selfcare_low", "feedback"):
        out += [f"- **{m}**: {say(m)}" for m in catalogs.ids(locale) if m.startswith(f"{prefix}.")]
    return "\n".join(out) + "\n"


def preview_awaiting(
    loaded: Loaded,
    awaiting: Awaiting,
    relationship: str,
    name: str,
    loved_one: str,
    locale: str = "en",
    country: str = "US",
) -> str:
    """The words written before their flows (tracks, safety, wellbeing, summary), in file order."""
    catalogs = loaded.catalogs
    waiting = [i for i in catalogs.ids() if awaiting.reason(i)]
    if not waiting:
        return ""
    profile = {
        "name": name,
        "relationship": relationship,
        "loved_one": loved_one,
        "country": country,
        **SAMPLE_WEEK,
    }
    audience = Audience(channel="sms", locale=locale, profile=profile)
    org = {"org": "Family Support Center", "org_contact": SAMPLE_CONTACT.get(locale, "555-0100")}
    out = ["", "## Written, not yet sent: words awaiting their flows", ""]
    pool = ""
    for message_id in waiting:
        if message_id.split(".", 1)[0] != pool:
            pool = message_id.split(".", 1)[0]
            out += [f"### {pool}.* ({awaiting.reason(message_id)})", ""]
        out += [f"- **{message_id}**: {render(catalogs, message_id, audience, org)}"]
    return "\n".join(out) + "\n"
