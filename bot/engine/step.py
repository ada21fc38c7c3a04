"""The engine's one entry point. Pure: the same program, session, input and `now` give the same result.

Routing order for a message: crisis > keywords (STOP, HELP...) > joining > the open question >
fallback. Time and ids come in as arguments; nothing here reads a clock, a file or a database.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.engine import events as ev
from bot.engine.inputs import Input, Message, Timeout, Trigger
from bot.engine.keywords import match_keyword, pause_until
from bot.engine.program import Program
from bot.engine.session import INDEFINITE, Session
from bot.flows.model import END, Flow, Keyword, Step
from bot.understanding.answers import Answer
from bot.understanding.crisis import CrisisMatch

MAX_STEPS = 200  # a guard only: the validator already refuses loops that never wait


def step(
    program: Program, session: Session, input_: Input, now: datetime
) -> tuple[Session, list[ev.Event]]:
    run = _Run(program, session, now)
    if isinstance(input_, Message):
        run.on_message(input_)
    elif isinstance(input_, Trigger):
        run.on_trigger(input_.kind)
    elif isinstance(input_, Timeout):
        run.on_timeout(input_.seq)
    return run.session, run.events


class _Run:
    """The work of one step: a session being changed and the events it produces."""

    def __init__(self, program: Program, session: Session, now: datetime) -> None:
        self.program, self.session, self.now = program, session, now
        self.events: list[ev.Event] = []
        self.text = ""
        self.keyword_arg = ""

    # --- inputs -------------------------------------------------------------------------------
    def on_message(self, message: Message) -> None:
        self.text = message.text
        if not self.session.onboarded and "locale" not in self.session.profile:
            # Until a newcomer's language is known, their words may tell it ("hola" -> Spanish):
            # every reply, the crisis reply included, is then in it, and joining does not ask.
            languages = self.program.languages
            said = languages.guess(message.text) or languages.tagged(message.language_hint)
            if said:
                self.set_profile("locale", said)
        crisis = self.program.understanding.crisis_in(message.text)
        if crisis:
            self.crisis(crisis)
            return
        found = match_keyword(
            self.program.flows.routing.keywords,
            message.text,
            message.keyword_hint,
            opted_out=self.session.status == "opted_out",
        )
        if found:
            self.keyword(*found)
            return
        if self.session.status == "opted_out":
            self.events.append(ev.Ignored("opted out: only crisis words and START are answered"))
            return
        if not self.repair() and self.session.waiting:
            return  # an edit removed the question; the flow asked its question afresh instead
        if self.session.status in ("new", "declined", "onboarding") and not self.session.waiting:
            self.session = self.session.with_(status="onboarding")
            self.start(self.program.flows.routing.join_flow)
            return
        if self.session.waiting and self.session.flow:
            self.answer(message.text)
            return
        self.fallback(message.text)

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
        if self.program.flows.flows.get(s.flow or "") is None or self.current_step() is None:
            # an edit removed the question: end quietly rather than ask again hours later
            self.events.append(
                ev.FlowReset(
                    s.flow or "", s.step, "the question timed out after an edit removed it"
                )
            )
            self.end_flow()
            return
        here = self.current_step()
        if here is None:
            return
        self.session = self.session.with_(waiting=False, reasks=0)
        self.goto(here.on_timeout or END)

    # --- routing ------------------------------------------------------------------------------
    def crisis(self, match: CrisisMatch) -> None:
        policy = self.program.crisis
        country = self.session.profile.get("country") or policy.default_country
        reply = f"crisis.{match.category}.{country}"
        if reply not in self.program.message_ids:
            reply = f"crisis.{match.category}.{policy.default_country}"
        self.events.append(
            ev.CrisisDetected(match.category, match.matched, match.language, self.text)
        )
        self.events.append(ev.Say(reply, "crisis"))
        if policy.alerting:
            self.events.append(ev.Say("crisis.team_told", "crisis"))
        if self.session.flow:
            self.end_flow()
        if self.session.status == "onboarding":
            # joining was cut short: the next message starts it afresh instead of landing nowhere
            self.session = self.session.with_(status="new")
        until = self.now + timedelta(seconds=policy.pause_s)
        current = self.session.paused_until
        if current != INDEFINITE and (current is None or datetime.fromisoformat(current) < until):
            self.session = self.session.with_(paused_until=until.isoformat())
            self.events.append(ev.PauseChanged(True, until, f"crisis: {match.category}"))
        if self.session.status == "active":
            self.events.append(
                ev.FollowupScheduled(self.now + timedelta(seconds=policy.followup_after_s))
            )

    def keyword(self, keyword: Keyword, arg: str) -> None:
        self.keyword_arg = arg
        if keyword.interrupts:
            if self.session.flow:
                self.end_flow()
            self.start(keyword.flow)
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

    def known(self, here: Step) -> bool:
        """An ask that `skip_if_known` and whose answer the profile already holds."""
        return here.skip_if_known and bool(here.save and self.session.profile.get(here.save))

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
        if here.save and answer.value is not None:
            self.set_profile(here.save, answer.value)
        self.goto_next(here)

    def read(self, expect: str, text: str) -> Answer | None:
        if expect == "language":
            found = self.program.languages.guess(text)
            return Answer(frozenset({"given"}), found) if found else None
        return self.program.understanding.read(expect, text, self.locale)

    def unclear(self, here: Step) -> None:
        if self.session.reasks >= self.program.max_reasks:
            self.session = self.session.with_(waiting=False, reasks=0)
            self.goto(here.on_timeout or END)
            return
        self.session = self.session.with_(reasks=self.session.reasks + 1)
        self.say(here.reask or here.ask or "")

    def fallback(self, text: str) -> None:
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
        """If an edit removed the flow or step this session was in, move on safely (see docs/flows.md)."""
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
    @property
    def locale(self) -> str:
        return self.session.profile.get("locale") or "en"

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
        labels = set(self.session.labels)
        for branch in here.next:
            if branch.label is None or branch.label in labels:
                self.goto(branch.target)
                return
        flow = self.program.flows.flows[self.session.flow or ""]
        following = (flow.index(here.id) or 0) + 1
        if following < len(flow.steps):
            self.run_flow(flow, following)
        else:
            self.end_flow()

    def run_flow(self, flow: Flow, index: int) -> None:
        for _ in range(MAX_STEPS):
            here = flow.steps[index]
            self.session = self.session.with_(flow=flow.id, step=here.id)
            if here.kind == "ask" and self.known(here):
                index = self.after(flow, index)  # known already: not asked again
                if index >= len(flow.steps):
                    break
                continue
            if here.kind == "ask":
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
            target = next(
                (b.target for b in here.next if b.label is None or b.label in self.session.labels),
                None,
            )
            if target is None:
                index += 1
            elif target == END or flow.index(target) is None:
                break
            else:
                index = flow.index(target) or 0
            if index >= len(flow.steps):
                break
        self.end_flow()

    def after(self, flow: Flow, index: int) -> int:
        """Where a skipped step leads: its `else` (or only) branch, or the next step."""
        here = flow.steps[index]
        target = next((b.target for b in here.next if b.label is None), None)
        if target is None:
            return index + 1
        found = flow.index(target) if target != END else None
        return len(flow.steps) if found is None else found

    def perform(self, here: Step) -> None:
        for message_id in here.say:
            self.say(message_id)
        if here.rotate:
            self.say_rotating(here.rotate)
        if here.lesson:
            self.lesson(here.lesson)
        if here.do:
            self.act(here.do)
        for name, value in here.record.items():
            if name == "checkin":
                self.events.append(ev.RecordCheckin(value))

    def say(self, message_id: str) -> None:
        """Say a message, in the family's country's version when one exists ('x' -> 'x.GB')."""
        country = self.session.profile.get("country") or self.program.crisis.default_country
        if f"{message_id}.{country}" in self.program.message_ids:
            message_id = f"{message_id}.{country}"
        kind: ev.SayKind = "compliance" if self.session.status == "opted_out" else "normal"
        self.events.append(ev.Say(message_id, kind))

    def say_rotating(self, pool: str) -> None:
        ids = self.program.pools.get(pool, ())
        if not ids:
            return
        position = self.session.pools.get(pool, 0)
        self.session = self.session.with_(pools={**self.session.pools, pool: position + 1})
        self.say(ids[position % len(ids)])

    def lesson(self, mode: str) -> None:
        order = self.program.flows.order
        if mode == "today" and self.session.today_lesson:
            self.say(self.session.today_lesson)
            return
        pos = self.session.lesson_pos
        if pos < len(order.lessons):
            message_id = order.lessons[pos]
        else:
            message_id = order.maintenance[(pos - len(order.lessons)) % len(order.maintenance)]
        self.session = self.session.with_(lesson_pos=pos + 1, today_lesson=message_id)
        self.say(message_id)

    def set_profile(self, name: str, value: str) -> None:
        self.session = self.session.with_(profile={**self.session.profile, name: value})
        self.events.append(ev.SetProfile(name, value))

    def act(self, action: str) -> None:
        s = self.session
        if action == "consent":
            self.events.append(ev.ConsentChanged(True, "consent", self.text))
        elif action == "decline":
            self.session = s.with_(status="declined")
            self.events.append(ev.ConsentChanged(False, "decline", self.text))
        elif action == "complete_onboarding":
            self.session = s.with_(status="active", onboarded=True)
            self.events.append(ev.OnboardingCompleted())
        elif action == "opt_out":
            self.session = s.with_(status="opted_out")
            self.events.append(ev.ConsentChanged(False, "opt_out", self.text))
        elif action == "opt_in":
            self.session = s.with_(status="active" if s.onboarded else "new")
            self.events.append(ev.ConsentChanged(True, "opt_in", self.text))
        elif action == "pause":
            until = pause_until(self.keyword_arg, self.now)
            self.session = s.with_(paused_until=until.isoformat() if until else INDEFINITE)
            self.events.append(ev.PauseChanged(True, until, "asked to pause"))
        elif action == "resume":
            self.session = s.with_(paused_until=None)
            self.events.append(ev.PauseChanged(False, None, "asked to resume"))
        elif action == "use_language":  # ESPAÑOL, ENGLISH: the language they wrote in
            found = self.program.languages.guess(self.text)
            if found and found != s.profile.get("locale"):
                self.set_profile("locale", found)
        elif action == "alert":  # tell the team again, e.g. "not OK" after a crisis
            self.events.append(
                ev.CrisisDetected(s.flow or "alert", tuple(s.labels), self.locale, self.text)
            )
