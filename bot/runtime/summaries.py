"""The family's own picture: the Sunday summary and PROGRESS, worded when the turn flushes.

A summary counts the last seven local days (today included) and compares them with the seven
before: days without use, with use and not sure, their own 1-5 answers, and one encouraging
sentence that is true of this week (messages/en/summary.yaml says which, in order). On SMS the
words end with a text calendar of the last four weeks; on Telegram and email the row carries the
calendar's data as `media`, drawn when sent (bot/runtime/summary_picture.py). Neither names the
loved one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.catalog import discreet
from bot.runtime.outbox.enqueue import Composer
from bot.runtime.writes import Writes
from storage.db import DB
from storage.queries import summaries as summary_sql

WEEKS = 4
CALENDAR_SIGNS = {"non_use": "+", "use": "x", "unsure": "?", None: "."}
PICTURE_CHANNELS = ("telegram", "email")  # their adapters send the picture with the words


@dataclass(frozen=True)
class Picture:
    """What a family told us over the last four weeks: each local day's evening answer (the
    last given that day) and their own wellbeing answers."""

    today: date
    days: Mapping[date, str]
    wellbeing: Sequence[tuple[date, int]]

    def first_day(self) -> date:
        """The Monday that starts the four-week calendar."""
        return self.today - timedelta(days=self.today.weekday() + 7 * (WEEKS - 1))

    def week(self, weeks_ago: int) -> tuple[int, int, int]:
        """(without use, with use, not sure) over seven days ending `weeks_ago` weeks before
        today."""
        end = self.today - timedelta(days=7 * weeks_ago)
        values = [self.days.get(end - timedelta(days=i)) for i in range(7)]
        return values.count("non_use"), values.count("use"), values.count("unsure")

    def ratings(self, weeks_ago: int) -> list[int]:
        end = self.today - timedelta(days=7 * weeks_ago)
        return [n for d, n in self.wellbeing if end - timedelta(days=6) <= d <= end]

    def calendar_rows(self) -> list[str]:
        """Monday to Sunday, one row a week, up to today: '+ no use, x use, ? not sure, .'."""
        start, rows = self.first_day(), []
        for week in range(WEEKS):
            days = [start + timedelta(days=7 * week + i) for i in range(7)]
            rows.append("".join(CALENDAR_SIGNS[self.days.get(d)] for d in days if d <= self.today))
        return rows

    def media(self) -> str:
        """The picture's data, as the outbox keeps it: days and numbers only, no names."""
        start = self.first_day()
        count = (self.today - start).days + 1
        days = [(start + timedelta(days=i)) for i in range(count)]
        return json.dumps(
            {
                "kind": "calendar",
                "today": self.today.isoformat(),
                "days": [[d.isoformat(), self.days.get(d)] for d in days],
                "wellbeing": [[d.isoformat(), n] for d, n in self.wellbeing if d >= start],
            },
            sort_keys=True,
        )


def sentences(picture: Picture, kind: str) -> tuple[list[str], dict[str, str]]:
    """The message ids of the summary, in order, and the values of its placeholders."""
    non_use, use, unsure = picture.week(0)
    before_non_use, before_use, before_unsure = picture.week(1)
    answered = non_use + use + unsure
    ratings, before = picture.ratings(0), picture.ratings(1)
    ids = ["summary.intro" if kind == "week" else "summary.progress_intro"]
    ids.append("summary.days" if answered else "summary.days_none")
    if ratings:
        ids.append("summary.wellbeing")
    if non_use > before_non_use and before_non_use + before_use + before_unsure:
        ids.append("summary.true_more_non_use")
    elif ratings and before and ratings[-1] > before[-1]:
        ids.append("summary.true_wellbeing_up")
    elif non_use:
        ids.append("summary.true_non_use")
    elif answered:
        ids.append("summary.true_kept_going")
    else:
        ids.append("summary.true_still_here")
    values = {
        "non_use_days": str(non_use),
        "use_days": str(use),
        "unsure_days": str(unsure),
        "wellbeing": ", ".join(str(n) for n in ratings),
    }
    return ids, values


def fill(db: DB, writes: Writes, composer: Composer) -> None:
    """Word every summary this transaction asked for, in its outbox row."""
    if not writes.summaries:
        return
    ids = {family.id for _, family, _, _, _ in writes.summaries}
    todays = {family.id: family.clock.today(now) for _, family, _, _, now in writes.summaries}
    since = min(todays.values()) - timedelta(days=7 * WEEKS + 7)
    checkins = summary_sql.checkins_since(db, ids, since)
    wellbeing = summary_sql.answers_since(db, ids, "wellbeing", since)
    # This transaction's own rows come after the stored ones: tonight's answer counts.
    checkins += _own(writes.checkins, ids, "value")
    wellbeing += _own([a for a in writes.answers if a["question"] == "wellbeing"], ids, "value")
    for index, family, session, kind, _now in writes.summaries:
        today = todays[family.id]
        days = {d: v for i, d, v, _ in checkins if i == family.id and d <= today}
        rated = [(d, int(v)) for i, d, v, _ in wellbeing if i == family.id and v.isdigit()]
        picture = Picture(today, days, rated)
        message_ids, values = sentences(picture, kind)
        audience = composer.audience(family, session, **values)
        text = " ".join(composer.words(audience, m) for m in message_ids)
        row = writes.outbox[index]
        row["message_id"] = message_ids[0]
        if discreet.is_discreet(session.profile):  # the lock screen shows the neutral line
            text = f"{composer.lead(message_ids[0], audience)}\n\n{text}"
        if family.channel in PICTURE_CHANNELS:
            caption = composer.words(audience, "summary.picture_caption")
            key = composer.words(audience, "summary.text_calendar_key")
            row["text"], row["media"] = f"{text}\n\n{caption} {key}", picture.media()
        else:
            key = composer.words(audience, "summary.text_calendar_key")
            whole = "\n".join([text, key, *picture.calendar_rows()])
            # each sentence kept its accents alone; together they may cost a segment
            row["text"] = composer.catalogs.sms_text(whole, family.locale)


def _own(rows: Iterable[Mapping[str, Any]], ids: set[int], field: str) -> list[Any]:
    return [
        (r["contact_id"], r["local_date"], str(r[field]), r["at"])
        for r in rows
        if r["contact_id"] in ids and r["local_date"] is not None
    ]
