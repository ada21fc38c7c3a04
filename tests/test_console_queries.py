"""The console's reads and the questions' writes, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session as DB

from storage import console_queries as cq
from storage import models as m
from storage.db import make_engine
from storage.migrate import upgrade
from storage.queries import questions as qs

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def a_family(db: DB, contact_id: int, name: str = "Ana") -> None:
    db.execute(
        insert(m.Contact),
        [
            {
                "id": contact_id,
                "channel": "sms",
                "address": f"+1201555{contact_id:04d}",
                "status": "active",
                "locale": "en",
                "name": name,
                "paused_indefinitely": False,
                "session": "{}",
                "created_at": T0,
                "updated_at": T0,
            }
        ],
    )


def a_conversation(db: DB, contact_id: int) -> None:
    """One of each kind, a few minutes apart, around T0."""
    db.execute(
        insert(m.InboundMessage),
        [
            {
                "contact_id": contact_id,
                "channel": "sms",
                "provider_id": f"SM{contact_id}-{n}",
                "text": f"in {n}",
                "received_at": minutes(n),
            }
            for n in (-30, 0, 30)
        ],
    )
    db.execute(
        insert(m.OutboundMessage),
        [
            {
                "contact_id": contact_id,
                "channel": "sms",
                "address": "+12015550100",
                "message_id": "checkin.question",
                "kind": "normal",
                "text": f"out {n}",
                "status": "delivered",
                "not_before": minutes(n),
                "attempts": 1,
                "created_at": minutes(n),
                "sent_at": minutes(n + 1),
            }
            for n in (-40, 10)
        ],
    )
    db.add(m.Checkin(contact_id=contact_id, value="use", local_date=date(2026, 3, 2), at=T0))
    db.add(m.Alert(contact_id=contact_id, category="overdose", matched="", text="help", at=T0))
    db.add(
        m.Consent(
            contact_id=contact_id,
            given=True,
            action="consent",
            channel="sms",
            by="self",
            words="yes",
            at=minutes(-60),
        )
    )
    db.add(m.Question(contact_id=contact_id, text="how?", asked_at=minutes(20)))


def test_a_timeline_is_every_kind_in_order_within_its_bounds(engine: Engine) -> None:
    with DB(engine) as db, db.begin():
        a_family(db, 1)
        a_conversation(db, 1)
    with DB(engine) as db:
        rows = cq.timeline(db, 1, 100)
        kinds = [(r.kind, r.text) for r in rows]
        assert kinds == [
            ("consent", "yes"),
            ("out", "out -40"),
            ("in", "in -30"),
            ("in", "in 0"),
            ("alert", "help"),
            ("checkin", "use"),
            ("out", "out 10"),
            ("question", "how?"),
            ("in", "in 30"),
        ]
        checkin = next(r for r in rows if r.kind == "checkin")
        assert checkin.detail == "2026-03-02"
        sent = next(r for r in rows if r.text == "out 10")
        assert (sent.at, sent.status, sent.message_id) == (
            minutes(11),
            "delivered",
            "checkin.question",
        )
        question = next(r for r in rows if r.kind == "question")
        assert question.status == "open"
        # the newest 3; the earliest 2 from a moment
        assert [r.text for r in cq.timeline(db, 1, 3)] == ["out 10", "how?", "in 30"]
        after = cq.timeline(db, 1, 2, since=minutes(5), earliest=True)
        assert [r.text for r in after] == ["out 10", "how?"]
        assert cq.timeline(db, 2, 10) == []


def test_around_gives_each_moment_its_own_window_in_one_read(engine: Engine) -> None:
    with DB(engine) as db, db.begin():
        a_family(db, 1)
        a_family(db, 2, "Ben")
        a_conversation(db, 1)
        a_conversation(db, 2)
    with DB(engine) as db:
        first, second, other = cq.around(
            db, [(1, T0), (1, minutes(30)), (2, minutes(-30))], timedelta(minutes=35), 2, 1
        )
        # up to 2 things at or before the moment, 1 after, within 35 minutes each side
        assert [r.text for r in first] == ["help", "use", "out 10"]
        assert [r.text for r in second] == ["how?", "in 30"]
        assert [r.text for r in other] == ["out -40", "in -30", "in 0"]
        assert cq.around(db, [], timedelta(hours=1), 2, 2) == []


def test_a_question_is_settled_once_and_the_inbox_lists_open_ones_first(engine: Engine) -> None:
    with DB(engine) as db, db.begin():
        a_family(db, 1)
        assert not qs.anyone_answers(db)
        db.add(m.Staff(email="coach@example.org", role="coach", created_at=T0))
        assert not qs.anyone_answers(db)  # no password yet: nobody can sign in to answer
        qs.add_questions(
            db,
            [
                {"contact_id": 1, "text": f"q{n}", "asked_at": minutes(n), "status": "open"}
                for n in (3, 1, 2)
            ],
        )
    with DB(engine) as db, db.begin():
        db.query(m.Staff).update({"password_hash": "x"})
        assert qs.anyone_answers(db)
        listed, waiting = qs.inbox(db, 10)
        assert [q.text for q, _ in listed] == ["q1", "q2", "q3"] and waiting == 3
        first = listed[0][0].id
        assert qs.settle(db, first, "answered", minutes(90), "coach@example.org", "yes")
        assert not qs.settle(db, first, "closed", minutes(91), "admin@example.org", "late")
    with DB(engine) as db:
        listed, waiting = qs.inbox(db, 2)
        assert [q.text for q, _ in listed] == ["q2", "q3"] and waiting == 2
        listed, _ = qs.inbox(db, 10)
        assert [(q.text, q.status) for q, _ in listed][-1] == ("q1", "answered")
        assert sorted(qs.asked_since(db, minutes(0)))[0] == (minutes(1), minutes(90), "answered")


def test_search_ignores_case_on_both_databases(engine: Engine) -> None:
    with DB(engine) as db, db.begin():
        a_family(db, 7, "MARÍA José")
        a_family(db, 8, "Ben")
    with DB(engine) as db:
        assert [c.id for c in cq.search_families(db, "mar", 10)] == [7]
        assert [c.id for c in cq.search_families(db, "josé", 10)] == [7]
        assert [c.id for c in cq.search_families(db, "BEN", 10)] == [8]
        assert [c.id for c in cq.search_families(db, "0008", 10)] == [8]
        assert [c.id for c in cq.search_families(db, "#7", 10)] == [7]
