"""The engine's one entry point. Pure: the same program, session, input and `now` give the same
result.

Routing order for a message: crisis > keywords (STOP, HELP...) > joining > the open question >
fallback. Time and ids come in as arguments; nothing here reads a clock, a file or a database.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.engine import events as ev
from bot.engine.actions import Actions
from bot.engine.inputs import Input, Message, Timeout, Trigger
from bot.engine.keywords import match_keyword
from bot.engine.program import Program
from bot.engine.session import Session
from bot.engine.state import MARKED, state_labels
from bot.flows.model import END, Flow, Keyword, Step
from bot.understanding.answers import Answer
from bot.understanding.crisis import CrisisReading
from bot.understanding.explain import one_line

MEDIA_ONLY = "system.media_only"  # the reply to media without words
STARTED_ALREADY = "keyword.started_already"  # START (Telegram's /start) from a family with us
STUCK = "system.stuck"  # after the last unclear reply: how to reach a person, then the question
MAX_STEPS = 200  # a guard only: the validator already refuses loops that never wait
# Kinds of question whose every answer already brings a safety line and a person (the crisis
# follow-up): a distress sign in the reply is noted, and the flow's own reply answers it.
LISTENING = frozenset({"followup"})


def step(
    program: Program, session: Session, input_: Input, now: datetime, today: date | None = None
) -> tuple[Session, list[ev.Event]]:
    """`today`: the family's own local day (the runtime knows their zone); UTC's when None."""
    run = _Run(program, session, now, today or now.date())
    if isinstance(input_, Message):
        run.on_message(input_)
    elif isinstance(input_, Trigger):
        run.on_trigger(input_.kind)
    elif isinstance(input_, Timeout):
        run.on_timeout(input_.seq)
    return run.session, run.events


class _Run(Actions):
    """The work of one step: a session being changed and the events it produces."""

    def __init__(self, program: Program, session: Session, now: datetime, today: date) -> None:
        self.program, self.session, self.now, self.today = program, session, now, today
        self.events: list[ev.Event] = []
        self.text = ""
        self.keyword_arg = ""
        self.answered: str | None = None
        self.reading: CrisisReading | None = None  # what the crisis reading said of this message

    # --- inputs -------------------------------------------------------------------------------
    def on_message(self, message: Message) -> None:
        self.text = message.text
        # Crisis first, in everything the person wrote: a caption, an email's own subject too.
        words = f"{message.subject}\n{message.text}" if message.subject else message.text
        if not self.session.onboarded and "locale" not in self.session.profile:
            # Until a newcomer's language is known, their words may tell it ("hola" -> Spanish):
            # every reply, the crisis reply included, is then in it, and joining does not ask.
            languages = self.program.languages
            said = languages.guess(words) or languages.tagged(message.language_hint)
            if said:
                self.set_profile("locale", said)
        self.reading = self.program.understanding.crisis(words)
        if self.reading.tier == "emergency":
            self.crisis(self.reading)
            return
        if message.edited:
            self.events.append(ev.Ignored("an edited message: only crisis words in it count"))
            return
        if self.reading.tier == "distress":
            self.distress(self.reading, listening=self.listening())
        found = match_keyword(
            self.program.flows.routing.keywords,
            message.text,
            message.keyword_hint,
            opted_out=self.session.status == "opted_out",
            channel=message.channel,
        )
        if found and not (found[0].before_consent or self.agreed()):
            found = None  # consent first: LESSON from a newcomer gets the consent question
        if found:
            self.keyword(*found)
            return
        if self.session.status == "opted_out":
            self.events.append(ev.Ignored("opted out: only crisis words and START are answered"))
            return
        if self.session.status == "active" and self.for_the_opted_out_only(message):
            # START from a family already with us (Telegram shows its Start button again when a
            # chat is cleared): say so, where the fallback said it did not follow; an open
            # question stays open.
            self.say(STARTED_ALREADY)
            return
        if not self.repair() and self.session.waiting:
            return  # an edit removed the question; the flow asked its question afresh instead
        if self.session.status in ("new", "declined", "onboarding") and not self.session.waiting:
            self.session = self.session.with_(status="onboarding")
            self.start(self.program.flows.routing.join_flow)
            return
        if message.media and not message.text.strip() and MEDIA_ONLY in self.program.message_ids:
            # A photo or a voice note alone: say the bot reads text; an open question stays open.
            self.say(MEDIA_ONLY)
            return
        if self.session.waiting and self.session.flow:
            self.answer(message.text)
            return
        self.fallback(message.text)

    def for_the_opted_out_only(self, message: Message) -> bool:
        """Whether the message is a keyword that only someone who opted out can use (START). Words
        of one channel only are left out: YES re-subscribes on SMS, and answers questions."""
        found = match_keyword(
            self.program.flows.routing.keywords, message.text, None, opted_out=True
        )
        return (
            found is not None
            and found[0].when == "opted_out"
            and STARTED_ALREADY in self.program.message_ids
        )

    def on_trigger(self, kind: str) -> None:
        s = self.session
        if s.status != "active":
            self.events.append(ev.Ignored(f"{kind}: the contact is {s.status}"))
            return
        if kind != "followup_due" and s.paused_at(self.now):
            self.events.append(ev.Ignored(f"{kind}: paused"))
            return
        flow = self.program.flows.by_trigger(kind)
        if flow is None:
            self.events.append(ev.Ignored(f"{kind}: no flow has this trigger"))
            return
        self.start(flow.id)

    def on_timeout(self, seq: int) -> None:
        s = self.session
        if not s.waiting or seq != s.wait_seq:
            self.events.append(ev.Ignored("a newer reply or flow made this timeout stale"))
            return
        here = self.current_step()
        if here is None:
            # an edit removed the question: end quietly rather than ask again hours later
            self.events.append(
                ev.FlowReset(
                    s.flow or "", s.step, "the question timed out after an edit removed it"
                )
            )
            self.end_flow()
            return
        self.session = self.session.with_(waiting=False, reasks=0)
        self.goto(here.on_timeout or END)

    # --- routing ------------------------------------------------------------------------------
    def crisis(self, reading: CrisisReading) -> None:
        """An emergency: the country's reply at once, an alert, a pause and a follow-up."""
        policy = self.program.crisis
        category = reading.category or "overdose"
        self.events.append(
            ev.CrisisDetected(
                category,
                reading.matched,
                reading.language,
                self.text,
                "emergency",
                one_line(reading),
            )
        )
        self.events.append(ev.Say(self.crisis_reply(f"crisis.{category}"), "crisis"))
        if category == "child" and reading.also:
            # The child comes first; the other danger still needs its own steps (naloxone...).
            self.events.append(ev.Say(self.crisis_reply(f"crisis.{reading.also}"), "crisis"))
        if policy.alerting:
            self.events.append(ev.Say("crisis.team_told", "crisis"))
        here = self.current_step()
        if self.session.waiting and here is not None and here.expect == "checkin":
            # A check-in answer that carries a danger sign is a crisis first, and still recorded.
            answer = self.program.understanding.checkin(self.text).category
            if answer is not None:
                self.record_checkin(answer)
        if self.session.flow:
            self.end_flow()
        if self.session.status == "onboarding":
            # joining was cut short: the next message starts it afresh instead of landing nowhere
            self.session = self.session.with_(status="new")
        self.pause_for_crisis(f"crisis: {category}")
        if self.session.status == "active":
            self.events.append(
                ev.FollowupScheduled(self.now + timedelta(seconds=policy.followup_after_s))
            )

    def distress(self, reading: CrisisReading, listening: bool = False) -> None:
        """Rage, fear or despair without a danger sign: a warm reply with one safety line and a
        person to talk to, at once. No pause, no follow-up; the message then goes on as any
        message would (an open question stays open, and is not asked again over the reply).
        A question that listens for feelings itself (the crisis follow-up) answers instead."""
        kind = reading.category or "despair"
        self.events.append(
            ev.DistressNoted(kind, reading.matched, reading.language, self.text, one_line(reading))
        )
        if listening:
            return
        reply = self.crisis_reply(f"crisis.distress.{kind}", fallback="crisis.distress")
        self.events.append(ev.Say(reply, "crisis"))

    def agreed(self) -> bool:
        """Has this person agreed to hear from us: said YES, or joined before (enrolled by an
        organisation that collected consent, or onboarded before consent was its own field)?"""
        return self.session.consented or self.session.onboarded

    def listening(self) -> bool:
        """Is the open question one whose answers carry their own care (expect: followup)?"""
        here = self.current_step() if self.session.waiting else None
        return here is not None and here.expect in LISTENING

    def crisis_reply(self, base: str, fallback: str = "") -> str:
        """The family's version of `base` (see `country_version`), else of `fallback` (a kind of
        distress a coach added without its own reply gets the general one)."""
        for stem in (base, fallback or base):
            chosen = self.country_version(stem)
            if chosen in self.program.message_ids:
                return chosen
        return self.country_version(base)

    def keyword(self, keyword: Keyword, arg: str) -> None:
        self.keyword_arg = arg
        if keyword.interrupts:
            if self.session.flow:
                self.end_flow()
            self.start(keyword.flow)
            if keyword.continues and not self.session.flow:
                self.carry_on()  # RESUME while joining: joining goes on where it stopped
            return
        saved = self.session  # an aside: the open question stays open afterwards
        self.run_flow(self.program.flows.flows[keyword.flow], 0)
        self.session = self.session.with_(
            flow=saved.flow,
            step=saved.step,
            waiting=saved.waiting,
            wait_seq=saved.wait_seq,
            reasks=saved.reasks,
        )
        if keyword.continues:
            self.carry_on()

    def carry_on(self) -> None:
        """After an aside that changes how we talk (ESPAÑOL): the open question moves on if the
        aside answered it (the language question), else is asked again; a newcomer joins."""
        here = self.current_step() if self.session.waiting else None
        if here is not None:
            if self.known(here):
                self.session = self.session.with_(waiting=False, reasks=0, labels=("given",))
                self.goto_next(here)
            else:
                self.say(here.ask or "")
        elif not self.session.onboarded and not self.session.flow:
            self.session = self.session.with_(status="onboarding")
            self.start(self.program.flows.routing.join_flow)

    def answer(self, text: str) -> None:
        here = self.current_step()
        if here is None:
            self.fallback(text)
            return
        answer = self.read(here.expect or "text", text)
        if answer is None:
            self.unclear(here)
            return
        self.session = self.session.with_(
            waiting=False, reasks=0, labels=tuple(sorted(answer.labels))
        )
        self.answered = here.ask or here.id
        if here.save and answer.value is not None:
            if here.save == "wellbeing" and "wellbeing" in self.session.profile:
                # "still low" compares two answers in a row: the one before is kept beside it
                before = self.session.profile["wellbeing"]
                self.session = self.session.with_(
                    profile={**self.session.profile, "wellbeing_before": before}
                )
            self.set_profile(here.save, answer.value)
            self.place_family(here.save, answer.value)
        self.goto_next(here)

    def place_family(self, saved: str, value: str) -> None:
        """Where the family's country comes from: their phone number (set when they joined),
        else the time zone they chose, else what they said when asked (docs/crisis.md)."""
        source = self.session.profile.get("country_from", "default")
        if saved == "country":
            self.mark_country("said")
        elif saved == "timezone" and source not in ("phone", "said"):
            found = self.program.understanding.country_of_zone(value)
            if found:
                if found != self.session.profile.get("country"):
                    self.set_profile("country", found)
                self.mark_country("timezone")

    def mark_country(self, source: str) -> None:
        self.session = self.session.with_(profile={**self.session.profile, "country_from": source})

    def country_known(self) -> bool:
        return self.session.profile.get("country_from") in ("phone", "timezone", "said")

    def read(self, expect: str, text: str) -> Answer | None:
        if expect == "language":
            found = self.program.languages.guess(text)
            return Answer(frozenset({"given"}), found) if found else None
        return self.program.understanding.read(expect, text, self.locale)

    def unclear(self, here: Step) -> None:
        """A reply that answers nothing. Never silence: free text (a story, a feeling, a
        question) gets a reflection that asks again, where the catalog has one for this kind of
        question (checkin.reflect.story); a short unclear reply the question's reask; the last
        one allowed moves the flow on where it has a way on (`on_timeout`), else says how to
        reach a person and asks again."""
        if self.reading is not None and self.reading.tier == "distress" and not self.listening():
            return  # the distress reply answered; the question stays open, not asked over it
        kind = self.program.understanding.reflection(self.text)
        reflect = f"{here.expect}.reflect.{kind}"
        if kind and self.country_version(reflect) in self.program.message_ids:
            self.session = self.session.with_(reasks=self.session.reasks + 1)
            self.say(reflect)
            return
        if self.session.reasks >= self.program.max_reasks:
            if here.on_timeout and here.on_timeout != END and here.expect != "checkin":
                # the flow has a way on without this answer (the country: the default one); the
                # check-in's (the evening's end, for the Sunday summary) is for silence only
                self.session = self.session.with_(waiting=False, reasks=0)
                self.goto(here.on_timeout)
                return
            if STUCK in self.program.message_ids:
                self.session = self.session.with_(reasks=0)
                self.say(STUCK)
                self.say(here.ask or "")
                return
            self.session = self.session.with_(waiting=False, reasks=0)
            self.goto(END)
            return
        self.session = self.session.with_(reasks=self.session.reasks + 1)
        self.say(here.reask or here.ask or "")

    def fallback(self, text: str) -> None:
        if self.reading is not None and self.reading.tier == "distress":
            return  # the distress reply answered; a feeling is not taken for a check-in
        if self.reading is not None and self.reading.answer:
            # A mention with a helpful answer ("where can I get naloxone?") gets it.
            self.say(self.crisis_reply(f"crisis.answer.{self.reading.answer}"))
            return
        answer_as = self.program.flows.routing.answer_as
        if answer_as and self.session.status == "active" and not self.session.paused_at(self.now):
            flow_id, step_id = answer_as
            flow = self.program.flows.flows[flow_id]
            target = flow.step(step_id)
            if target and self.program.understanding.read(
                target.expect or "text", text, self.locale
            ):
                self.session = self.session.with_(flow=flow_id, step=step_id, waiting=True)
                self.events.append(ev.FlowStarted(flow_id))
                self.answer(text)
                return
        self.start(self.program.flows.routing.fallback_flow)

    def repair(self) -> bool:
        """If an edit removed the flow or step this session was in, move on safely (see
        docs/flows.md)."""
        s = self.session
        if not s.flow:
            return True
        flow = self.program.flows.flows.get(s.flow)
        if flow is not None and (s.step is None or flow.step(s.step) is not None):
            return True
        if flow is None:
            self.events.append(
                ev.FlowReset(s.flow, s.step, "the flow no longer exists; the conversation left it")
            )
            self.session = s.with_(flow=None, step=None, waiting=False, reasks=0)
        else:
            self.events.append(
                ev.FlowReset(s.flow, s.step, "the step no longer exists; the flow starts again")
            )
            self.session = s.with_(step=None, waiting=False, reasks=0)
            self.run_flow(flow, 0)
        return False

    # --- running steps ------------------------------------------------------------------------
    def current_step(self) -> Step | None:
        flow = self.program.flows.flows.get(self.session.flow or "")
        return flow.step(self.session.step) if flow and self.session.step else None

    def start(self, flow_id: str) -> None:
        self.events.append(ev.FlowStarted(flow_id))
        self.run_flow(self.program.flows.flows[flow_id], 0)

    def end_flow(self) -> None:
        if self.session.flow:
            self.events.append(ev.FlowEnded(self.session.flow))
        self.session = self.session.with_(flow=None, step=None, waiting=False, reasks=0)

    def goto(self, target: str) -> None:
        flow = self.program.flows.flows.get(self.session.flow or "")
        index = flow.index(target) if flow and target != END else None
        if flow is None or index is None:
            self.end_flow()
        else:
            self.run_flow(flow, index)

    def goto_next(self, here: Step) -> None:
        """Go on from the step just answered, the way its `next` says."""
        flow = self.program.flows.flows[self.session.flow or ""]
        index = self.following(flow, here, flow.index(here.id) or 0)
        if index is None:
            self.end_flow()
        else:
            self.run_flow(flow, index)

    def following(self, flow: Flow, here: Step, index: int) -> int | None:
        """The index of the step after `here` (at `index`): the target of its first branch whose
        label the last answer has (or its `else`), or else the next step. None: the flow ends
        (a branch to `end`, or past the last step)."""
        labels = frozenset(self.session.labels)
        if any(b.label is not None and b.label not in labels for b in here.next):
            labels |= state_labels(self.session, self.today, self.program.asking)
        target = next((b.target for b in here.next if b.label is None or b.label in labels), None)
        if target is None:
            index += 1
        else:
            found = flow.index(target) if target != END else None
            if found is None:
                return None
            index = found
        return index if index < len(flow.steps) else None

    def run_flow(self, flow: Flow, index: int) -> None:
        for _ in range(MAX_STEPS):
            here = flow.steps[index]
            self.session = self.session.with_(flow=flow.id, step=here.id)
            if here.kind == "ask" and self.known(here):
                # Not asked again: it goes on as if answered with what the family gave.
                self.session = self.session.with_(labels=("given",))
                following = self.following(flow, here, index)
                if following is None:
                    break
                index = following
                continue
            if here.kind == "ask":
                if here.save in MARKED:
                    self.mark(here.save or "")
                self.say(here.ask or "")
                seq = self.session.wait_seq + 1
                self.session = self.session.with_(waiting=True, wait_seq=seq, reasks=0)
                self.events.append(ev.WaitStarted(seq, here.timeout_s))
                return
            if here.kind == "go":
                self.events.append(ev.FlowEnded(flow.id))
                flow, index = self.program.flows.flows[here.go or ""], 0
                self.events.append(ev.FlowStarted(flow.id))
                continue
            self.perform(here)
            if self.session.flow != flow.id:
                return  # the step left the flow (an action ended it)
            following = self.following(flow, here, index)
            if following is None:
                break
            index = following
        self.end_flow()

    def known(self, here: Step) -> bool:
        """An ask that `skip_if_known` and whose answer the family has already given: the
        language their first message was written in, the country their phone number or time
        zone told (a country is only known once one of these said it: every family has the
        default one). COUNTRY, a flow without `skip_if_known`, always asks."""
        if not here.skip_if_known or not here.save:
            return False
        if here.save == "country":
            return self.country_known()
        return bool(self.session.profile.get(here.save))

    def perform(self, here: Step) -> None:
        for message_id in here.say:
            self.say(message_id, here.append)
        if here.rotate:
            self.say_rotating(here.rotate, here.append)
        if here.lesson:
            self.lesson(here.lesson)
        if here.do:
            self.act(here.do)
        for name, value in here.record.items():
            if name == "checkin":
                self.record_checkin(value)

    def record_checkin(self, value: str) -> None:
        previous = self.session.checkin_at
        self.session = self.session.with_(checkin_at=self.now.isoformat())
        self.events.append(ev.RecordCheckin(value, previous))

    @property
    def country(self) -> str:
        """The family's country (ISO code), DEFAULT_COUNTRY while nothing has said it."""
        return self.session.profile.get("country") or self.program.crisis.default_country

    def country_version(self, message_id: str) -> str:
        """'x.GB' for a family in GB when the catalog has it, else 'x': the one rule by which
        every message, crisis replies included, takes the family's country. The plain 'x' is
        what a family of any other country gets, so where numbers matter it is the honest
        international version (docs/crisis.md), never another country's."""
        if f"{message_id}.{self.country}" in self.program.message_ids:
            return f"{message_id}.{self.country}"
        return message_id

    def say(self, message_id: str, append: str | None = None) -> None:
        """Say a message, in the family's country's version when one exists ('x' -> 'x.GB'),
        with `append`'s words at its end (the safety line)."""
        message_id = self.country_version(message_id)
        kind: ev.SayKind = "compliance" if self.session.status == "opted_out" else "normal"
        self.events.append(ev.Say(message_id, kind, append and self.country_version(append)))

    def mark(self, name: str) -> None:
        """Note today on the family's calendar under `name` (bot/engine/state.py)."""
        marks = {**self.session.marks, name: self.today.isoformat()}
        self.session = self.session.with_(marks=marks)

    def say_rotating(self, pool: str, append: str | None = None) -> None:
        ids = self.program.pools.get(pool, ())
        if not ids:
            return
        position = self.session.pools.get(pool, 0)
        self.session = self.session.with_(pools={**self.session.pools, pool: position + 1})
        self.say(ids[position % len(ids)], append)

    def lesson(self, mode: str) -> None:
        order = self.program.flows.order
        if mode == "today" and self.session.today_lesson:
            self.say(self.session.today_lesson)
            return
        # Each track keeps its own place: engaging's is lesson_pos, the others' are pools
        # ("track.treatment"), so a family that moves back and forth picks up where it was.
        track = self.session.profile.get("track") or "engaging"
        lessons = order.track_lessons(track)
        key = f"track.{track}"
        pos = (
            self.session.lesson_pos if lessons is order.lessons else self.session.pools.get(key, 0)
        )
        if pos < len(lessons):
            message_id = lessons[pos]
        else:
            message_id = order.maintenance[(pos - len(lessons)) % len(order.maintenance)]
        # The day's marks (the first lesson's "start", and "lesson") and the place, in one new
        # session: a fan-out gives 100,000 lessons at once.
        today = self.today.isoformat()
        marks = dict(self.session.marks)
        if "start" not in marks:
            marks["start"] = today
        marks["lesson"] = today
        if lessons is order.lessons:
            self.session = self.session.with_(
                lesson_pos=pos + 1, today_lesson=message_id, marks=marks
            )
        else:
            pools = {**self.session.pools, key: pos + 1}
            self.session = self.session.with_(pools=pools, today_lesson=message_id, marks=marks)
        self.say(message_id)

    def set_profile(self, name: str, value: str) -> None:
        self.session = self.session.with_(profile={**self.session.profile, name: value})
        self.events.append(ev.SetProfile(name, value))
