"""The stats page's figures, week by week, as charts: aggregates only, no family named.

The anchors are published figures to read ours against, not targets we promise:
- 62-68%: share of SMS assessments answered in published text-message programs;
- 54%: share of SmokefreeTXT starters who completed its 42 days.
"""

from __future__ import annotations

import math
import statistics
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.console.charts import Chart, Series
from storage import console_stats as q
from storage.queries import questions as question_sql

RESPONSE_ANCHOR = (62.0, 68.0)
RETENTION_ANCHOR = 54.0
PROGRAM_DAYS = 42
CHANNELS = ("sms", "telegram", "email")


def _labels(first: int, weeks: int) -> tuple[str, ...]:
    return tuple(f"{q.week_start(first + i):%d %b}" for i in range(weeks))


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _answered(asked_answered: tuple[int, int] | None) -> float | None:
    asked, answered = asked_answered or (0, 0)
    return _pct(answered, asked)


class Memo:
    """The figures, computed at most once every `fresh` (and afresh when a new week starts).

    Twelve weeks of aggregates read every message, check-in and consent of those weeks: seconds
    for a large program (docs/console.md, "What is measured"). Weekly figures move slowly, so
    coaches opening the page together share one computation; the page says when it was made.
    """

    def __init__(self, db: sessionmaker[Session], fresh: timedelta = timedelta(minutes=5)) -> None:
        self.db, self.fresh = db, fresh
        self._last: tuple[list[Chart], datetime] | None = None  # the charts, when made
        self._lock = threading.Lock()

    def charts(self, now: datetime) -> tuple[list[Chart], datetime]:
        """The charts, and when they were computed."""
        with self._lock:  # a second coach waits for the first one's figures
            if self._last is None or self._stale(self._last[1], now):
                self._last = build(self.db, now), now
            return self._last

    def _stale(self, made: datetime, now: datetime) -> bool:
        new_week = q.week_number(now.date()) != q.week_number(made.date())
        return new_week or not made <= now < made + self.fresh


def build(db: sessionmaker[Session], now: datetime, weeks: int = 12) -> list[Chart]:
    last = q.week_number(now.date())
    first = last - weeks + 1
    since_day = q.week_start(first)
    since = datetime.combine(since_day, datetime.min.time(), tzinfo=now.tzinfo)
    span = range(first, last + 1)
    labels = _labels(first, weeks)
    with db() as s:
        enrolled, active = q.enrolled(s, since), q.active(s, since)
        checkins = q.checkins_asked_answered(s, since_day)
        values = q.checkin_values(s, since_day)
        stops = q.opt_outs(s, since)
        alerts = q.alerts(s, since)
        touched = q.first_staff_touch(s, [i for i, _ in alerts])
        # Cohorts that have had their 42 days: joined in the `weeks` weeks before that.
        cohort_end = now - timedelta(days=PROGRAM_DAYS)
        cohort_first = q.week_number(cohort_end.date()) - weeks + 1
        cohort_from = datetime.combine(
            q.week_start(cohort_first), datetime.min.time(), tzinfo=now.tzinfo
        )
        joined = q.starts_and_stops(s, cohort_from, cohort_end)
        asked = question_sql.asked_since(s, since)
        ratings = q.lesson_ratings(s, since_day)
        wellbeing = q.wellbeing_by_week(s, since_day)

    def per_week(counts: dict[int, int]) -> tuple[float | None, ...]:
        return tuple(float(counts.get(w, 0)) for w in span)

    charts = [
        Chart(
            "families",
            "Families joining, by week",
            "Families who said yes to the program, or whom an admin enrolled.",
            labels,
            (Series("joined", per_week(enrolled), "s1"),),
        ),
        Chart(
            "active",
            "Families active, by week",
            "Families who wrote at least once that week.",
            labels,
            (Series("active", per_week(active), "s2"),),
        ),
        Chart(
            "response",
            "Evening check-ins answered",
            "Share of evening check-ins answered the same day. The band is 62-68%, the response "
            "to SMS assessments reported in published text-message programs.",
            labels,
            (Series("answered", tuple(_answered(checkins.get(w)) for w in span), "s1"),),
            unit="%",
            band=RESPONSE_ANCHOR,
            band_label="62-68%: published SMS assessment response",
        ),
    ]
    cohort_labels = _labels(cohort_first, weeks)
    cohorts: dict[int, list[bool]] = {}
    for start, stop in joined:
        stayed = stop is None or stop < start or stop - start >= timedelta(days=PROGRAM_DAYS)
        cohorts.setdefault(q.week_number(start.date()), []).append(stayed)
    retention = tuple(
        _pct(sum(cohorts.get(w, [])), len(cohorts.get(w, [])))
        for w in range(cohort_first, cohort_first + weeks)
    )
    charts.append(
        Chart(
            "retention",
            "Still in the program after 6 weeks, by week joined",
            "Share of families who did not opt out within 42 days of joining (weeks whose 42 days "
            "are over). The line is 54%: SmokefreeTXT starters who completed its 42 days.",
            cohort_labels,
            (Series("stayed 6 weeks", retention, "s2"),),
            unit="%",
            band=(RETENTION_ANCHOR - 0.5, RETENTION_ANCHOR + 0.5),
            band_label="54%: SmokefreeTXT 42-day completion",
        )
    )
    charts.append(
        Chart(
            "days",
            "Use, non-use and unsure days, by week",
            "Evening answers from all families together, by the week of their own day.",
            labels,
            tuple(
                Series(name, tuple(float(values.get(w, {}).get(key, 0)) for w in span), css)
                for key, name, css in (
                    ("non_use", "non-use days", "s2"),
                    ("use", "use days", "s3"),
                    ("unsure", "unsure", "s4"),
                )
            ),
        )
    )
    charts.append(
        Chart(
            "optouts",
            "Opt-outs, by week and channel",
            "Families who stopped the program: by a STOP word, an unsubscribe link, a provider "
            "refusal, or staff.",
            labels,
            tuple(
                Series(ch, tuple(float(stops.get(w, {}).get(ch, 0)) for w in span), f"s{n + 1}")
                for n, ch in enumerate(CHANNELS)
            ),
        )
    )
    alert_weeks: dict[int, int] = {}
    waits: dict[int, list[float]] = {}
    for alert_id, at in alerts:
        week = q.week_number(at.date())
        alert_weeks[week] = alert_weeks.get(week, 0) + 1
        if alert_id in touched:
            waits.setdefault(week, []).append((touched[alert_id] - at).total_seconds() / 60)
    charts.append(
        Chart(
            "alerts",
            "Crisis alerts, by week",
            "Alerts raised by crisis words or a follow-up answer.",
            labels,
            (Series("alerts", per_week(alert_weeks), "s3"),),
        )
    )
    charts.append(
        Chart(
            "acknowledge",
            "Minutes to acknowledge an alert (median), by week",
            "From the alert to the first acknowledgement: in the console, by a reply ACK to a "
            "notice, or with craftbot alerts ack (an alert closed without one counts at closing).",
            labels,
            (
                Series(
                    "median minutes",
                    tuple(
                        round(statistics.median(waits[w]), 1) if waits.get(w) else None
                        for w in span
                    ),
                    "s1",
                ),
            ),
        )
    )
    charts += question_charts(asked, labels, span)
    charts.append(
        Chart(
            "wellbeing",
            "Family members' own wellbeing (average, 1 to 5), by week",
            'Their weekly answer to "how are you doing yourself?": 1 very hard, 5 doing well.',
            labels,
            (Series("average", tuple(wellbeing.get(w) for w in span), "s2"),),
        )
    )
    charts.append(lesson_chart(ratings))
    return charts


def lesson_chart(ratings: Sequence[tuple[str, float, int]], most: int = 20) -> Chart:
    """ "Did today's lesson help? 1-5", per lesson: the least helpful first (up to `most`), so
    the lessons worth rewriting stand out."""
    shown = sorted(ratings, key=lambda r: (r[1], r[0]))[:most]
    return Chart(
        "lesson_ratings",
        "Did the lesson help? Average answer per lesson (1 to 5)",
        "The weekly question after a lesson, over the last twelve weeks: the lessons with the "
        "lowest average first; each label says how many answered.",
        tuple(f"{lesson} ({n})" for lesson, _, n in shown),
        (Series("average", tuple(round(avg, 2) for _, avg, _ in shown), "s1"),),
        waiting="" if shown else "No lesson has been rated yet.",
    )


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which `share` of them fall (nearest rank: an hour someone waited)."""
    ordered = sorted(values)
    rank = math.ceil(len(ordered) * share)  # the smallest value with `share` of them at or below
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def question_charts(
    asked: Sequence[tuple[datetime, datetime | None, str]], labels: tuple[str, ...], span: range
) -> list[Chart]:
    """Questions to a coach by week (answered, closed, still open), and the hours families waited
    for an answer: the median and the 90th percentile of the week's answered questions."""
    counts: dict[int, dict[str, int]] = {}
    hours: dict[int, list[float]] = {}
    for at, settled, status in asked:
        week = q.week_number(at.date())
        counts.setdefault(week, {}).setdefault(status, 0)
        counts[week][status] += 1
        if status == "answered" and settled is not None:
            hours.setdefault(week, []).append((settled - at).total_seconds() / 3600)

    def waits(figure: Callable[[list[float]], float]) -> tuple[float | None, ...]:
        return tuple(round(figure(hours[w]), 1) if hours.get(w) else None for w in span)

    return [
        Chart(
            "questions",
            "Questions to a coach, by week",
            "Families who texted ASK and a question, or said yes when offered a person; by what "
            "became of them: answered, closed without an answer (by phone, say), still open.",
            labels,
            tuple(
                Series(name, tuple(float(counts.get(w, {}).get(key, 0)) for w in span), css)
                for key, name, css in (
                    ("answered", "answered", "s2"),
                    ("closed", "closed", "s4"),
                    ("open", "still open", "s3"),
                )
            ),
        ),
        Chart(
            "answer_time",
            "Hours to answer a question, by week asked",
            "From the family's question to the coach's answer: the median, and the 90th "
            "percentile (nine in ten were answered within it).",
            labels,
            (
                Series("median hours", waits(statistics.median), "s1"),
                Series("90th percentile", waits(lambda h: percentile(h, 0.9)), "s3"),
            ),
            stacked=False,
        ),
    ]
