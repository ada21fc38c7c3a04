"""The validated, immutable shape of flows, keywords and the program order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

StepKind = Literal["say", "ask", "go", "lesson", "do", "branch"]
END = "end"

# What each kind of question can understand a reply as (the labels `if:` may test).
EXPECT_LABELS: Mapping[str, tuple[str, ...]] = {
    "checkin": ("non_use", "use", "unsure", "wish", "dip", "window"),
    "yes_no": ("yes", "no"),
    "relationship": ("parent", "partner", "sibling", "child", "friend", "other"),
    "name": ("given",),
    "optional_name": ("given", "skipped"),
    "timezone": ("given",),
    "country": ("given",),  # an ISO 3166 code; OTHER is ZZ (bot/understanding/places.py)
    "time": ("given",),
    "text": ("given",),
    "ok": ("ok", "not_ok"),
    # the crisis follow-up (bot/understanding/followup.py); a reply may carry several labels
    "followup": ("safe", "hospital", "getting_help", "not_ok", "scared"),
    "language": ("given",),  # saved as a locale ("es"): see bot/engine/language.py
    "safety": ("yes", "sometimes", "no"),  # do you ever feel unsafe with {loved_one}?
    "stage": ("engaging", "treatment", "recovery", "unsure"),  # the loved one's stage: a track
    "rating": ("low", "mid", "high"),  # 1 to 5: 1-2 low, 3 mid, 4-5 high (the digit is saved)
}
# What holds for a family whatever the last answer was: any step's `if:` may test these
# (bot/engine/state.py says when each holds).
STATE_LABELS = (
    "unsafe",  # they said YES or SOMETIMES to the safety question
    "agreed",  # they said YES to joining, or an organisation enrolled them (their consent)
    "track_treatment",  # the loved one is in treatment (the stage question's answer)
    "track_recovery",  # early recovery, with starts and stops
    "feeling_low",  # their own last wellbeing answer was 1 or 2
    "still_low",  # ... and the one before it too
    "person_reads",  # a person on the team reads questions (ASK): the console has staff
    "safety_due",  # the safety question is due today (once, from the second day)
    "stage_due",  # the stage question is due (every two weeks)
    "wellbeing_due",  # the wellbeing question is due (once a week)
    "feedback_due",  # "did today's lesson help?" is due (once a week, on a day with a lesson)
    "summary_due",  # the weekly summary is due (Sundays)
)
# The tracks a family can be on (flows/program.yaml): engaging is the program's `lessons:`.
TRACKS = ("engaging", "treatment", "recovery")
# Profile fields an ask step may `save:` its answer into.
PROFILE_FIELDS = (
    "name",
    "relationship",
    "loved_one",
    "timezone",
    "lesson_time",
    "checkin_time",
    "rewards",
    "locale",
    "country",
    "safety",  # yes, sometimes, no
    "track",  # engaging, treatment, recovery
    "wellbeing",  # their own 1 to 5
    "lesson_rating",  # did today's lesson help, 1 to 5
    "discreet",  # yes: someone else may see the messages (docs/privacy.md, discreet mode)
    "cover_word",  # the word said instead of the loved one's name in discreet mode
)
ACTIONS = (
    "consent",
    "decline",
    "complete_onboarding",
    "opt_out",
    "opt_in",
    "pause",
    "resume",
    "alert",
    "ask",
    "use_language",  # the language the message was written in (ESPAÑOL -> es), from now on
    "summary",  # the family's own picture: their week in brief (the Sunday summary)
    "progress",  # the same picture on demand (PROGRESS)
    "discreet",  # DISCREET turns discreet mode on or off; DISCREET Sam: on, saying "Sam"
    "mydata",  # MYDATA: what is kept, and a link (on email an attachment) to all of it
    "erase",  # DELETE, once confirmed: everything erased but the address's opt-out
)
RECORDS: Mapping[str, tuple[str, ...]] = {"checkin": ("non_use", "use", "unsure")}
TRIGGERS = ("lesson_due", "checkin_due", "nudge_due", "followup_due")
LESSON_MODES = ("next", "today")
KEYWORD_WHEN = ("active", "opted_out", "any")
# What may follow a keyword's word: "PAUSE 3 days" (duration), "ASK how do I ..." (text).
KEYWORD_TAKES = ("duration", "text")


@dataclass(frozen=True)
class Branch:
    label: str | None  # None is the `else` branch
    target: str  # a step id of the same flow, or "end"
    line: int = 0
    col: int = 0


@dataclass(frozen=True)
class Step:
    id: str
    kind: StepKind
    line: int
    col: int
    say: tuple[str, ...] = ()  # message ids, said in order
    rotate: str | None = None  # say one message of this pool, in turn
    ask: str | None = None
    expect: str | None = None
    save: str | None = None
    reask: str | None = None
    timeout_s: int | None = None
    on_timeout: str | None = None
    go: str | None = None
    lesson: str | None = None
    do: str | None = None
    branch: str | None = None  # a step that only chooses where to go (what it looks at)
    append: str | None = None  # a message whose words end each message this step says
    skip_if_known: bool = False  # an ask whose `save:` field is known already is not asked
    record: Mapping[str, str] = field(default_factory=dict)
    next: tuple[Branch, ...] = ()  # empty: fall through to the following step
    at: Mapping[str, tuple[int, int]] = field(
        default_factory=dict
    )  # key -> (line, col) of its value

    def pos(self, key: str) -> tuple[int, int]:
        return self.at.get(key, (self.line, self.col))


@dataclass(frozen=True)
class Flow:
    id: str
    description: str
    file: str
    line: int
    steps: tuple[Step, ...]
    trigger: str | None = None

    def index(self, step_id: str) -> int | None:
        for i, step in enumerate(self.steps):
            if step.id == step_id:
                return i
        return None

    def step(self, step_id: str) -> Step | None:
        i = self.index(step_id)
        return None if i is None else self.steps[i]


@dataclass(frozen=True)
class Keyword:
    name: str
    words: tuple[str, ...]  # whole-message words, normalised (lower case)
    flow: str
    when: str = "active"
    interrupts: bool = True  # False: say its piece and leave an open question open
    takes: str | None = None  # "duration": "PAUSE 3 days"; "text": "ASK how do I ..."
    # Words that count on one channel only, normalised: (("sms", ("yes",)),) for SMS's YES.
    channel_words: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # The words by language ("any" for words of none, such as /stop): see flows/keyword_words.py.
    by_language: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    # After its piece, the conversation carries on: an open question is asked again (in the new
    # language, after ESPAÑOL), and a newcomer starts joining.
    continues: bool = False
    # Answered before a person has agreed to join (STOP, HELP, a language): every other keyword
    # waits for consent, and the message goes to the consent question instead.
    before_consent: bool = False

    def words_on_channel(self, channel: str) -> tuple[str, ...]:
        for on, words in self.channel_words:  # a loop, not next(): asked of every keyword
            if on == channel:
                return words
        return ()


@dataclass(frozen=True)
class Routing:
    """keywords.yaml: the words that act anywhere, how people join, what catches the rest."""

    keywords: tuple[Keyword, ...]
    join_flow: str
    fallback_flow: str
    answer_as: tuple[str, str] | None = None  # (flow, ask step) for unprompted replies
    # Words that tell a newcomer's language ("hola"), by language, besides the keywords' own.
    greetings: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ProgramOrder:
    lessons: tuple[str, ...]
    maintenance: tuple[str, ...]
    # The other tracks' lessons, in order ("treatment" -> (...)); engaging's are `lessons`.
    tracks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def track_lessons(self, track: str) -> tuple[str, ...]:
        return self.tracks.get(track, self.lessons) if track != "engaging" else self.lessons


@dataclass(frozen=True)
class FlowSet:
    """Everything in flows/: validated together, swapped together."""

    flows: Mapping[str, Flow]
    routing: Routing
    order: ProgramOrder

    def by_trigger(self, trigger: str) -> Flow | None:
        return next((f for f in self.flows.values() if f.trigger == trigger), None)
