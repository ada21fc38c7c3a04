"""What the engine's events do: one small handler per event type, each adding to the turn's writes.

A new event type gets its handler in HANDLERS; the module refuses to load while any event of the
engine (or of the runtime, below) has none. Nothing here touches the database: the turn's
`Writes` are flushed once, after every step of the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, get_args

from bot.engine import events as ev
from bot.engine.session import INDEFINITE, Session
from bot.runtime import family_data
from bot.runtime.alerts.raising import Raiser
from bot.runtime.family import PROFILE_COLUMNS, Family
from bot.runtime.family_clock import Clocks
from bot.runtime.outbox.enqueue import Composer
from bot.runtime.timers.plans import timer_row
from bot.runtime.writes import Writes

log = logging.getLogger(__name__)
CRISIS_CATEGORIES = ("overdose", "suicide", "violence", "child")
SCHEDULE_FIELDS = ("timezone", "lesson_time", "checkin_time")  # a change re-plans the day
# What a withdrawn consent stops: everything the program would start later.
STOPPED_TIMERS = ("lesson", "checkin", "nudge", "followup")
CHECKIN_REPLACED = "checkin.replaced"  # a second answer the same day replaced the first


@dataclass(frozen=True)
class OptedOutElsewhere:
    """The family opted out outside the conversation: a provider refusal, an unsubscribe link,
    a spam report. Recorded like any consent change (a runtime event; the engine never emits it)."""

    channel: str
    by: str  # provider | self
    words: str


Event = ev.Event | OptedOutElsewhere


class Applying:
    """One engine step's events being applied: handlers read and replace `family`, and add rows
    to the turn's writes."""

    def __init__(
        self,
        effects: Effects,
        family: Family,
        session: Session,
        now: datetime,
        in_reply_to: int | None = None,
    ) -> None:
        self.effects, self.writes = effects, effects.writes
        self.family, self.session, self.now = family, session, now
        self.in_reply_to = in_reply_to  # the inbound message this step answers; None: a timer
        self.first = len(self.writes.outbox)  # this step's outbox rows start here
        self.rows: list[int] = []  # and are these (the family's and the staff's)
        self.reschedule = False
        self.erased = False  # DELETE: what is said from now on goes to the address alone

    def add_outbox(self, row: dict[str, Any]) -> None:
        self.rows.append(self.writes.add_outbox(row))

    def stop_everyday(self, before: int) -> None:
        """Cancel queued everyday messages (written before `before`) and the timers that would
        start more."""
        family_id = self.family.id
        self.writes.cancel_everyday(family_id, before, "opted_out")
        self.writes.timers.update({(family_id, kind): None for kind in STOPPED_TIMERS})


class Effects:
    """Applies steps' events for one turn (one transaction) into its writes."""

    def __init__(
        self,
        writes: Writes,
        composer: Composer,
        clocks: Clocks,
        lessons: frozenset[str],
        alerts: Raiser,
    ) -> None:
        self.writes, self.composer, self.clocks, self.lessons = writes, composer, clocks, lessons
        self.alerts = alerts

    def apply(
        self,
        family: Family,
        session: Session,
        events: Sequence[Event],
        now: datetime,
        in_reply_to: int | None = None,
    ) -> tuple[Family, list[int]]:
        """The family after this step, and the outbox rows it wrote (indices into writes.outbox);
        `in_reply_to`: the inbound message the step answers (None: a timer or an outside event)."""
        step = Applying(self, family, session, now, in_reply_to)
        for event in events:
            HANDLERS[type(event)](step, event)
        family = step.family.with_session(session)
        self.writes.change(
            family.id, session=session.to_json(), status=session.status, updated_at=now
        )
        if step.reschedule:
            self.writes.reschedule[family.id] = (family, now)
        return family, step.rows


def say(step: Applying, event: ev.Say) -> None:
    family, now = step.family, step.now
    composer = step.effects.composer
    row = composer.row(family, step.session, event, now, step.in_reply_to)
    if step.erased:
        row["contact_id"] = None
    step.add_outbox(row)
    if event.message_id in step.effects.lessons:  # a lesson said any way is the day's lesson
        step.writes.deliver((family.id, "lesson", family.clock.today(now)), now)


def record_checkin(step: Applying, event: ev.RecordCheckin) -> None:
    """One check-in a local day: a second answer that day replaces the first (the flush
    upserts), and the family is told, after the reply to their answer."""
    family, now = step.family, step.now
    today = family.clock.today(now)
    step.writes.checkins.append(
        {"contact_id": family.id, "value": event.value, "local_date": today, "at": now}
    )
    if event.previous and family.clock.today(datetime.fromisoformat(event.previous)) == today:
        say(step, ev.Say(CHECKIN_REPLACED))


def set_profile(step: Applying, event: ev.SetProfile) -> None:
    if event.field in PROFILE_COLUMNS:
        step.writes.change(step.family.id, **{event.field: event.value})
        step.family = step.family.with_profile(event.field, event.value, step.effects.clocks)
    step.reschedule = step.reschedule or event.field in SCHEDULE_FIELDS
    if event.field in ANSWERED:
        keep_answer(step, event)


# Profile fields that answer the program's own questions: each answer is also kept as a row.
ANSWERED = ("safety", "track", "wellbeing", "lesson_rating")


def keep_answer(step: Applying, event: ev.SetProfile) -> None:
    family, now = step.family, step.now
    step.writes.answers.append(
        {
            "contact_id": family.id,
            "question": event.field,
            "value": event.value[:16],
            "lesson": step.session.today_lesson if event.field == "lesson_rating" else None,
            "local_date": family.clock.today(now),
            "at": now,
        }
    )


def summary_requested(step: Applying, event: ev.SummaryRequested) -> None:
    """A row now, so the summary keeps its place among this step's messages; its words at flush,
    from the stored days and answers and this transaction's own (bot/runtime/summaries.py)."""
    family, now = step.family, step.now
    row = step.effects.composer.row(
        family, step.session, ev.Say("summary.intro"), now, step.in_reply_to
    )
    step.add_outbox(row)
    step.writes.summaries.append((step.rows[-1], family, step.session, event.kind, now))


def wait_started(step: Applying, event: ev.WaitStarted) -> None:
    family_id = step.family.id
    step.writes.timers[(family_id, "wait")] = (
        None
        if event.timeout_s is None
        else timer_row(
            family_id, "wait", step.now + timedelta(seconds=event.timeout_s), seq=event.seq
        )
    )


def consent_changed(step: Applying, event: ev.ConsentChanged) -> None:
    family = step.family
    step.writes.consents.append(
        {
            "contact_id": family.id,
            "given": event.given,
            "action": event.action,
            "channel": family.channel,
            "by": "self",
            "words": event.words[:2000],
            "at": step.now,
        }
    )
    if not event.given:
        step.stop_everyday(len(step.writes.outbox))
    step.reschedule = True


def opted_out_elsewhere(step: Applying, event: OptedOutElsewhere) -> None:
    step.writes.consents.append(
        {
            "contact_id": step.family.id,
            "given": False,
            "action": "opt_out",
            "channel": event.channel,
            "by": event.by,
            "words": event.words[:500],
            "at": step.now,
        }
    )
    step.stop_everyday(len(step.writes.outbox))


def pause_changed(step: Applying, event: ev.PauseChanged) -> None:
    if event.paused:
        # what the program queued and has not sent (a lesson waiting in a fan-out, a check-in
        # held for quiet hours) does not come after "paused"
        step.writes.cancel_program(step.family.id, step.first)
    step.writes.change(
        step.family.id,
        paused_indefinitely=step.session.paused_until == INDEFINITE,
        paused_until=event.until if event.paused else None,
    )


def onboarding_completed(step: Applying, event: ev.OnboardingCompleted) -> None:
    step.reschedule = True


def crisis_detected(step: Applying, event: ev.CrisisDetected) -> None:
    family, now = step.family, step.now
    # Everyday messages still queued for this family (an evening reply held for the morning, a
    # lesson waiting in a fan-out) would arrive after the emergency reply: a cheerful lesson must
    # never follow "she overdosed". What this same step wrote still goes.
    step.writes.cancel_everyday(family.id, step.first, "crisis")
    tier = "emergency" if event.category in CRISIS_CATEGORIES else "followup"
    matched = ", ".join(event.matched)
    for row in step.effects.alerts.raise_alert(
        step.writes, family, event.category, tier, matched, event.text, now
    ):
        step.rows.append(row)


def distress_noted(step: Applying, event: ev.DistressNoted) -> None:
    """The reply is already said; an alert at a lower priority only where the organisation wants
    one (ALERT_ON_DISTRESS)."""
    alerts = step.effects.alerts
    if alerts.settings.alert_on_distress:
        matched = ", ".join(event.matched)
        step.rows += alerts.raise_alert(
            step.writes, step.family, event.kind, "distress", matched, event.text, step.now
        )


def question_asked(step: Applying, event: ev.QuestionAsked) -> None:
    """Into the console's inbox; the engine already said when to expect an answer."""
    step.writes.questions.append(
        {
            "contact_id": step.family.id,
            "text": event.text,
            "prompt": event.prompt[:120],
            "asked_at": step.now,
            "status": "open",
        }
    )


def data_requested(step: Applying, event: ev.DataRequested) -> None:
    """MYDATA: on email the data goes as an attachment of this row (built when it is sent); on
    SMS and Telegram the row carries a single-use link (bot/web/mydata.py)."""
    family, now = step.family, step.now
    composer = step.effects.composer
    email = family.channel == "email"
    token, request = family_data.new_request(composer.settings, family.id, family.channel, now)
    kind: ev.SayKind = "compliance" if step.session.status == "opted_out" else "normal"
    message = "privacy.mydata_attached" if email else "privacy.mydata_link"
    row = composer.row(family, step.session, ev.Say(message, kind), now)
    if token is not None:
        row["text"] = f"{row['text']}\n{family_data.link(composer.settings, token)}"
    index = step.writes.add_outbox(row)
    step.rows.append(index)
    step.writes.data_requests.append((request, index if email else None))


def erasure_requested(step: Applying, event: ev.ErasureRequested) -> None:
    """DELETE: the family is erased at the end of the flush; what is said after this goes to the
    address with no family, and nothing queued for them is sent."""
    family, now = step.family, step.now
    hashed = family_data.address_hash(
        step.effects.composer.settings, family.channel, family.address
    )
    step.writes.erase[family.id] = (hashed, "self", now)
    step.stop_everyday(len(step.writes.outbox))
    step.erased = True


def followup_scheduled(step: Applying, event: ev.FollowupScheduled) -> None:
    family = step.family
    due = family.clock.held_until(event.at)
    step.writes.timers[(family.id, "followup")] = timer_row(family.id, "followup", due)


def logged(step: Applying, event: ev.FlowReset | ev.Ignored) -> None:
    log.info("contact %s: %s", step.family.id, event)


def nothing(step: Applying, event: ev.FlowStarted | ev.FlowEnded) -> None:
    pass


HANDLERS: dict[type, Callable[[Applying, Any], None]] = {
    ev.Say: say,
    ev.RecordCheckin: record_checkin,
    ev.SetProfile: set_profile,
    ev.WaitStarted: wait_started,
    ev.ConsentChanged: consent_changed,
    ev.PauseChanged: pause_changed,
    ev.OnboardingCompleted: onboarding_completed,
    ev.CrisisDetected: crisis_detected,
    ev.QuestionAsked: question_asked,
    ev.SummaryRequested: summary_requested,
    ev.DataRequested: data_requested,
    ev.ErasureRequested: erasure_requested,
    ev.FollowupScheduled: followup_scheduled,
    ev.FlowStarted: nothing,
    ev.FlowEnded: nothing,
    ev.DistressNoted: distress_noted,
    ev.FlowReset: logged,
    ev.Ignored: logged,
    OptedOutElsewhere: opted_out_elsewhere,
}
_UNHANDLED = {*get_args(ev.Event), OptedOutElsewhere} - HANDLERS.keys()
if _UNHANDLED:
    raise ImportError(f"events without a handler: {sorted(t.__name__ for t in _UNHANDLED)}")
