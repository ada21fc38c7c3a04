"""What holds for a family whatever their last answer was: the labels any step's `if:` may test.

Pure: the family's session, their local day and whether a person reads questions in, labels
out. The weekly questions follow the family's own calendar (`Session.marks`), counted from the
day of their first lesson:

    safety_due     once, from the day after the first lesson, until asked
    stage_due      14 days after the first lesson, then 14 days after it was last asked
    wellbeing_due  7 days after the first lesson, then 7 days after it was last asked
    feedback_due   on a day with a lesson, 7 days after the first lesson or the last asking
    summary_due    Sundays, once, from the third day after the first lesson
"""

from __future__ import annotations

from datetime import date

from bot.engine.session import Session

SAFETY_FROM_DAY = 1
STAGE_EVERY_DAYS = 14
WELLBEING_EVERY_DAYS = 7
FEEDBACK_EVERY_DAYS = 7
SUMMARY_FROM_DAY = 3
SUNDAY = 6
LOW = 2  # a wellbeing answer of 1 or 2 is low
# The profile fields whose question is asked on the family's calendar: asking one marks the day.
MARKED = ("safety", "track", "wellbeing", "lesson_rating")


def state_labels(session: Session, today: date, person_reads: bool) -> frozenset[str]:
    profile, marks = session.profile, session.marks
    labels: set[str] = set()
    if session.consented or session.onboarded:
        labels.add("agreed")
    if profile.get("safety") in ("yes", "sometimes"):
        labels.add("unsafe")
    track = profile.get("track")
    if track in ("treatment", "recovery"):
        labels.add(f"track_{track}")
    if _low(profile.get("wellbeing")):
        labels.add("feeling_low")
        if _low(profile.get("wellbeing_before")):
            labels.add("still_low")
    if person_reads:
        labels.add("person_reads")
    start = _day(marks.get("start"))
    if start is None:
        return frozenset(labels)
    if "safety" not in marks and (today - start).days >= SAFETY_FROM_DAY:
        labels.add("safety_due")
    if _since(marks, "track", start, today) >= STAGE_EVERY_DAYS:
        labels.add("stage_due")
    if _since(marks, "wellbeing", start, today) >= WELLBEING_EVERY_DAYS:
        labels.add("wellbeing_due")
    lesson_today = marks.get("lesson") == today.isoformat()
    if lesson_today and _since(marks, "lesson_rating", start, today) >= FEEDBACK_EVERY_DAYS:
        labels.add("feedback_due")
    if (
        today.weekday() == SUNDAY
        and marks.get("summary") != today.isoformat()
        and (today - start).days >= SUMMARY_FROM_DAY
    ):
        labels.add("summary_due")
    return frozenset(labels)


def _since(marks: dict[str, str], name: str, start: date, today: date) -> int:
    return (today - (_day(marks.get(name)) or start)).days


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _low(text: str | None) -> bool:
    return bool(text) and str(text).isdigit() and int(str(text)) <= LOW
