"""What a flow's `do:` steps do to the session, one method per action of ACTIONS.

ACTIONS (bot/flows/model.py) is the one list of actions a flow may name; each is the method
`do_<action>` here, and the engine refuses to load while the two differ.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from bot.engine import events as ev
from bot.engine.keywords import pause_until
from bot.engine.program import Program
from bot.engine.session import INDEFINITE, Session
from bot.flows.model import ACTIONS


class Actions:
    """Mixed into the engine's step: the state an action reads and changes."""

    session: Session
    events: list[ev.Event]
    now: datetime
    today: date  # the family's local day
    text: str  # what the person wrote, for consent records
    keyword_arg: str  # what followed the keyword ("PAUSE 3 days")
    answered: str | None  # the question this message answered (its message id), if any
    program: Program
    say: Callable[[str], None]  # the step's own: say a message in the family's version
    set_profile: Callable[[str, str], None]  # the step's own: change the profile, with its event

    @property
    def locale(self) -> str:
        return self.session.profile.get("locale") or "en"

    def act(self, action: str) -> None:
        _ACTS[action](self)

    def do_consent(self) -> None:
        self.session = self.session.with_(consented=True)
        self.events.append(ev.ConsentChanged(True, "consent", self.text))

    def do_decline(self) -> None:
        self.session = self.session.with_(status="declined")
        self.events.append(ev.ConsentChanged(False, "decline", self.text))

    def do_complete_onboarding(self) -> None:
        self.session = self.session.with_(status="active", onboarded=True)
        self.events.append(ev.OnboardingCompleted())

    def do_opt_out(self) -> None:
        self.session = self.session.with_(status="opted_out")
        self.events.append(ev.ConsentChanged(False, "opt_out", self.text))

    def do_opt_in(self) -> None:
        self.session = self.session.with_(
            status="active" if self.session.onboarded else "new", consented=self.session.onboarded
        )
        self.events.append(ev.ConsentChanged(True, "opt_in", self.text))

    def do_pause(self) -> None:
        until = pause_until(self.keyword_arg, self.now)
        self.session = self.session.with_(paused_until=until.isoformat() if until else INDEFINITE)
        self.events.append(ev.PauseChanged(True, until, "asked to pause"))

    def do_resume(self) -> None:
        self.session = self.session.with_(paused_until=None)
        self.events.append(ev.PauseChanged(False, None, "asked to resume"))

    def do_use_language(self) -> None:
        """ESPAÑOL, ENGLISH: from now on, the language the message was written in (the word
        names it: bot/engine/language.py)."""
        found = self.program.languages.guess(self.text)
        if found and found != self.session.profile.get("locale"):
            self.set_profile("locale", found)

    def do_discreet(self) -> None:
        """DISCREET turns discreet mode on, or off when it is on; DISCREET and a word turns it
        on with that word for the loved one ("DISCREET Sam"). The word is read like the loved
        one's name at joining."""
        words = self.text.strip().split(None, 1)
        cover = (words[1].strip() if self.keyword_arg and len(words) > 1 else "")[:40]
        on = bool(cover) or self.session.profile.get("discreet") != "yes"
        self.set_profile("discreet", "yes" if on else "no")
        if cover:
            self.set_profile("cover_word", cover)
        self.say("privacy.discreet_on" if on else "privacy.discreet_off")

    def do_mydata(self) -> None:
        """MYDATA: what is kept, then the way to get all of it (the runtime adds the link or,
        on email, the attachment)."""
        self.say("privacy.mydata")
        self.events.append(ev.DataRequested())

    def do_erase(self) -> None:
        """DELETE, confirmed: everything about the family is erased; nothing more is sent but
        this one confirmation. Writing again later starts afresh, as a newcomer."""
        self.events.append(ev.ErasureRequested())
        self.session = self.session.with_(status="opted_out")
        self.say("privacy.deleted")

    def pause_for_crisis(self, reason: str) -> None:
        """No lessons or check-ins for the crisis pause from now (a longer pause stays)."""
        until = self.now + timedelta(seconds=self.program.crisis.pause_s)
        current = self.session.paused_until
        if current != INDEFINITE and (current is None or datetime.fromisoformat(current) < until):
            self.session = self.session.with_(paused_until=until.isoformat())
            self.events.append(ev.PauseChanged(True, until, reason))

    def do_alert(self) -> None:
        """Tell the team again ("not OK" after a crisis), and pause lessons for the crisis pause
        from now: a family who is not OK gets no cheerful lesson tomorrow morning."""
        s = self.session
        self.events.append(
            ev.CrisisDetected(
                s.flow or "alert",
                tuple(s.labels),
                self.locale,
                self.text,
                "followup",
                f"answered {s.flow or 'the question'}: {', '.join(s.labels) or 'see text'}",
            )
        )
        if self.program.crisis.alerting:  # only then can the family be told a person knows
            self.say("crisis.team_told")  # after the flow's own reply, in the same way
        self.pause_for_crisis(f"{s.flow or 'a question'}: the team is told again")

    def do_summary(self) -> None:
        """The week in brief (the Sunday summary): the runtime counts and words it."""
        self.session = self.session.with_(
            marks={**self.session.marks, "summary": self.today.isoformat()}
        )
        self.events.append(ev.SummaryRequested("week"))

    def do_progress(self) -> None:
        """PROGRESS: the same picture, on demand."""
        self.events.append(ev.SummaryRequested("progress"))

    def do_ask(self) -> None:
        """Put the family's words to a person on the team: what followed ASK, or the answer that
        led here (YES to an offer of a person). Only where someone reads them (the console is on
        and has staff); otherwise the family is told how to reach a person instead."""
        if not self.program.asking:
            self.say("ask.no_team")
            return
        if self.answered is not None:
            question, prompt = self.text.strip(), self.answered
        else:  # the message's own words after the keyword, as typed (keyword_arg is normalised)
            words = self.text.strip().split(None, 1)
            question, prompt = (words[1].strip() if self.keyword_arg and len(words) > 1 else ""), ""
        if not question:
            self.say("ask.how")  # ASK alone: how to ask, in one message
            return
        self.events.append(ev.QuestionAsked(question[:2000], prompt))
        self.say("ask.received")


_ACTS: dict[str, Callable[[Actions], None]] = {
    name.removeprefix("do_"): method
    for name, method in vars(Actions).items()
    if name.startswith("do_")
}
if set(_ACTS) != set(ACTIONS):
    raise ImportError(
        f"flow actions without a method: {sorted(set(ACTIONS) - set(_ACTS))}; "
        f"methods without an action: {sorted(set(_ACTS) - set(ACTIONS))}"
    )
