"""Why the bot read a message as it did, in words a coach can act on. Pure."""

from __future__ import annotations

from bot.understanding.checkin import CheckinReading
from bot.understanding.crisis import CrisisReading, Finding


def explain_crisis(reading: CrisisReading) -> str:
    """'tier: emergency (overdose) [en]' and one line per sign found, with modifiers and rule."""
    head = f"tier: {reading.tier}"
    if reading.category:
        head += f" ({reading.category}{', also ' + reading.also if reading.also else ''})"
    if reading.language:
        head += f" [{reading.language}]"
    if reading.answer:
        head += f"; helpful answer: crisis.answer.{reading.answer}"
    lines = [head]
    if not reading.findings:
        lines.append("  no crisis or distress sign found")
    for finding in reading.findings:
        lines += _finding(finding)
    return "\n".join(lines)


def _finding(f: Finding) -> list[str]:
    state = f"held by {f.held}" if f.held else "affirmed"
    lines = [f'  sign {f.category}/{f.sign}: "{f.words}" [{f.language}] {state} -> {f.tier}']
    for m in f.modifiers:
        lines.append(f'    {m.kind}: "{m.trigger}"{"  (" + m.rule + ")" if m.rule else ""}')
    lines.append(f"    rule: {f.rule}")
    return lines


def explain_checkin(reading: CheckinReading) -> str:
    head = f"check-in: {reading.category or 'not an answer (asked again)'}"
    if reading.window:
        head += f"; window of opportunity: {reading.window}"
    lines = [head]
    if reading.options:
        lines.append(f"  options picked: {', '.join(reading.options)}")
    for found in reading.found:
        mods = ", ".join(str(m) for m in found.modifiers) or "none"
        what = found.evidence.category or found.evidence.kind
        reads = (
            found.reads_as or "not about today" if found.evidence.category else found.evidence.kind
        )
        lines.append(
            f'  {found.evidence.kind} {what}: "{found.words}"; modifiers {mods} -> {reads}'
        )
    return "\n".join(lines)


def one_line(reading: CrisisReading) -> str:
    """For alerts and logs: 'emergency overdose: "not breathing" (affirmed)'."""
    deciding = [f for f in reading.findings if f.tier == reading.tier]
    parts = [
        f'{f.category}/{f.sign} "{f.words}"'
        + (f" held by {f.held}" if f.held else "")
        + "".join(f"; {m}" for m in f.modifiers)
        for f in deciding
    ]
    return f"{reading.tier} {reading.category or ''}: " + " | ".join(parts)
