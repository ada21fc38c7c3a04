"""Ask a coach: the questions families asked (ASK), and a coach's answer going back to them.

A family's question lands here from the runtime (`do: ask`, bot/runtime/effects.py). A coach
answers it in the console, maybe starting from a saved answer (messages/<locale>/coach_answers.yaml,
rendered for this family); the answer goes out on the family's own channel and is recorded in the
question, the family's conversation and the audit log. Two coaches answering at once: the first
one's answer goes, the second is told.

For now an answer is an everyday message: it waits for the end of the family's quiet hours and is
never sent to a family who opted out (the dispatcher checks both again when it sends). Once the
outbox can mark a row as the answer to a family's own message, a prompt answer can go at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot.catalog.render import Audience, render
from bot.console.accounts import Accounts, StaffUser
from bot.engine.session import Session
from bot.runtime.context import Context
from bot.runtime.staff_words import queue_staff_words
from storage import models as m
from storage.queries import questions as q

ANSWER_MESSAGE_ID = "staff.answer"  # the outbox's catalog id for a coach's answer
CANNED = "coach_answer"  # the pool of saved answers
RECEIVED = "ask.received"  # what a family is told when their question lands here
MAX_ANSWER = 1600  # ten SMS segments: a real answer, not an essay
Status = Literal["open", "answered", "closed"]


@dataclass(frozen=True)
class QuestionView:
    id: int
    contact_id: int
    family: str  # the family member's name, or "family #id"
    channel: str
    zone: str  # the family's time zone, for showing their clock
    locale: str
    text: str
    prompt: str  # the message they answered (an offer of a person), "" for ASK
    asked_at: datetime
    status: Status = "open"
    answered_at: datetime | None = None  # answered, or closed
    answered_by: str = ""
    answer: str = ""  # the words sent, or the note of a closing
    opted_out: bool = False
    profile: dict[str, str] = field(default_factory=dict, compare=False)  # for saved answers

    def waited(self, now: datetime) -> timedelta:
        """How long the family waited for an answer (so far, while open)."""
        return (self.answered_at or now) - self.asked_at


@dataclass(frozen=True)
class Canned:
    id: str
    title: str  # from the id: coach_answer.after_a_use_day -> "after a use day"
    text: str  # rendered for this family and channel


@dataclass(frozen=True)
class Sent:
    """What answering did: the outbox row, and when quiet hours let it go (None: now)."""

    outbox_id: int | None
    not_before: datetime | None = None
    refused: str = ""  # a key of REFUSED: why nothing was sent


REFUSED = {
    "empty": "Write the answer first.",
    "gone": "This question is gone: the family was removed.",
    "settled": "Someone else answered or closed this question first: nothing was sent.",
    "opted_out": "This family opted out: we never message them. Nothing was sent.",
}


class Inbox:
    def __init__(self, ctx: Context, accounts: Accounts) -> None:
        self.ctx, self.accounts = ctx, accounts

    def listing(self, limit: int = 200) -> tuple[list[QuestionView], int]:
        """Open questions oldest first, then the latest answered; and how many are open."""
        with self.ctx.db() as db:
            found, waiting = q.inbox(db, limit)
            return [_view(question, contact) for question, contact in found], waiting

    def question(self, question_id: int) -> QuestionView | None:
        with self.ctx.db() as db:
            found = q.question(db, question_id)
            return _view(*found) if found else None

    def canned(self, question: QuestionView) -> list[Canned]:
        """The saved answers, in file order, in the family's words and channel."""
        catalogs = self.ctx.program.current.catalogs
        audience = Audience(question.channel, question.locale, question.profile)
        org = self.ctx.settings.org_placeholders()
        return [
            Canned(mid, _title(mid), render(catalogs, mid, audience, org))
            for mid in catalogs.pool(CANNED)
        ]

    def told(self, question: QuestionView) -> str:
        """What the family was told when their question landed, in their language and words."""
        catalogs = self.ctx.program.current.catalogs
        audience = Audience(question.channel, question.locale, question.profile)
        try:
            return render(catalogs, RECEIVED, audience, self.ctx.settings.org_placeholders())
        except KeyError:
            return ""

    def timed_locales(self) -> list[str]:
        """The locales whose reply to a question says when a person answers (the answer time is a
        setting per language; a locale's reply may leave it out and promise no time)."""
        catalogs = self.ctx.program.current.catalogs
        return sorted(
            locale
            for locale, entries in catalogs.locales.items()
            if RECEIVED in entries and "{answer_within}" in entries[RECEIVED].base.text
        )

    def answer(self, question_id: int, staff: StaffUser, text: str, ip: str) -> Sent:
        """Send the coach's answer on the family's channel and mark the question answered."""
        now = self.ctx.clock()
        if not text.strip():
            return Sent(None, refused="empty")
        try:
            with self.ctx.db.begin() as db:
                found = q.question(db, question_id)
                if found is None:
                    return Sent(None, refused="gone")
                question = found[0]
                if not q.settle(db, question_id, "answered", now, staff.email, text[:MAX_ANSWER]):
                    return Sent(None, refused="settled")
                reached = queue_staff_words(
                    self.ctx,
                    db,
                    question.contact_id,
                    text[:MAX_ANSWER],
                    ANSWER_MESSAGE_ID,
                    "email.subject_answer",
                    now,
                )
                if reached.outbox_id is None:
                    raise _Refused(reached.refused)  # undo the settle: nothing was sent
                q.link_answer(db, question_id, reached.outbox_id)
        except _Refused as refused:
            return Sent(None, refused=refused.args[0])
        self.accounts.audit(
            staff,
            "question.answer",
            "question",
            question_id,
            f"family {question.contact_id}, outbox {reached.outbox_id}",
            ip,
        )
        return Sent(reached.outbox_id, reached.not_before)

    def close(self, question_id: int, staff: StaffUser, note: str, ip: str) -> bool:
        """Close without sending anything (answered by phone, or nothing to answer)."""
        note = note.strip()[:2000] or "closed without an answer"
        with self.ctx.db.begin() as db:
            if not q.settle(db, question_id, "closed", self.ctx.clock(), staff.email, note):
                return False
        self.accounts.audit(staff, "question.close", "question", question_id, note, ip)
        return True


def _title(message_id: str) -> str:
    return message_id.removeprefix(f"{CANNED}.").replace("_", " ")


def _view(question: m.Question, contact: m.Contact) -> QuestionView:
    profile = dict(Session.from_json(contact.session).profile)
    profile["relationship"] = profile.get("relationship") or contact.relationship or ""
    status: Status = "open"
    if question.status in ("answered", "closed"):
        status = "answered" if question.status == "answered" else "closed"
    return QuestionView(
        id=question.id,
        contact_id=contact.id,
        family=contact.name or f"family #{contact.id}",
        channel=contact.channel,
        zone=contact.timezone or "",
        locale=contact.locale or "en",
        profile=profile,
        text=question.text,
        prompt=question.prompt,
        asked_at=question.asked_at,
        status=status,
        answered_at=question.answered_at,
        answered_by=question.answered_by or "",
        answer=question.answer or "",
        opted_out=contact.status == "opted_out",
    )


class _Refused(Exception):
    """The answer could not be queued: the transaction rolls back, the question stays open."""
