"""What the engine asks the runtime to do. Each event is applied by one small runtime handler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

SayKind = Literal["normal", "crisis", "compliance"]


@dataclass(frozen=True)
class Say:
    message_id: str
    # "crisis": sent at once, through everything; "compliance": the STOP confirmation
    kind: SayKind = "normal"
    append: str | None = None  # a message whose words end this one (the safety line)


@dataclass(frozen=True)
class RecordCheckin:
    value: str  # use | non_use | unsure
    # When the family's previous check-in was recorded (ISO instant), if ever: an answer the same
    # local day replaces it, and the runtime, which knows the family's day, says so.
    previous: str | None = None


@dataclass(frozen=True)
class SetProfile:
    field: str
    value: str


@dataclass(frozen=True)
class WaitStarted:
    seq: int
    timeout_s: int | None  # None: wait for ever (until another flow starts)


@dataclass(frozen=True)
class ConsentChanged:
    given: bool
    action: str  # consent, decline, opt_out, opt_in
    words: str  # what the person wrote


@dataclass(frozen=True)
class PauseChanged:
    paused: bool
    until: datetime | None  # None with paused=True: until RESUME
    reason: str


@dataclass(frozen=True)
class OnboardingCompleted:
    pass


@dataclass(frozen=True)
class CrisisDetected:
    category: str  # overdose, suicide, violence, child; a flow's id for `do: alert`
    matched: tuple[str, ...]
    language: str
    text: str
    tier: str = "emergency"  # what the understanding engine decided (docs/crisis.md)
    explanation: str = ""  # the signs and modifiers behind it, for the alert and the console


@dataclass(frozen=True)
class DistressNoted:
    """Rage, fear or despair without a danger sign: answered warmly, no pause, no alert (yet).

    The runtime may ignore it; a later change can turn it into a lower-priority alert where the
    organisation wants one."""

    kind: str  # rage, fear, despair, passed_out, after_overdose, ...
    matched: tuple[str, ...]
    language: str
    text: str
    explanation: str = ""


@dataclass(frozen=True)
class QuestionAsked:
    """A family's question for a person on the team (ASK, or YES to an offer of a person)."""

    text: str  # their words
    prompt: str = ""  # the message they were answering ("" after ASK)


@dataclass(frozen=True)
class SummaryRequested:
    """The family's own picture: their week in brief (Sunday), or so far (PROGRESS). The
    runtime counts their days and answers and words it (bot/runtime/summaries.py)."""

    kind: Literal["week", "progress"]


@dataclass(frozen=True)
class DataRequested:
    """MYDATA: the family asked for all their data (a link, or on email an attachment)."""


@dataclass(frozen=True)
class ErasureRequested:
    """DELETE, confirmed: erase everything about this family but the address's opt-out. What
    the engine says after it goes to the address with no family attached."""


@dataclass(frozen=True)
class FollowupScheduled:
    at: datetime


@dataclass(frozen=True)
class FlowStarted:
    flow: str


@dataclass(frozen=True)
class FlowEnded:
    flow: str


@dataclass(frozen=True)
class FlowReset:
    """The session pointed at a flow or step an edit removed; the engine moved on safely."""

    flow: str
    step: str | None
    reason: str


@dataclass(frozen=True)
class Ignored:
    reason: str


Event = (
    Say
    | RecordCheckin
    | SetProfile
    | WaitStarted
    | ConsentChanged
    | PauseChanged
    | OnboardingCompleted
    | CrisisDetected
    | DistressNoted
    | QuestionAsked
    | SummaryRequested
    | DataRequested
    | ErasureRequested
    | FollowupScheduled
    | FlowStarted
    | FlowEnded
    | FlowReset
    | Ignored
)
