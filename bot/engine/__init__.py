"""The engine: pure conversation logic. step(program, session, input, now) -> (session, events)."""

from bot.engine.events import Event
from bot.engine.inputs import Input, Message, Timeout, Trigger
from bot.engine.program import Program
from bot.engine.session import Session
from bot.engine.step import step

__all__ = ["Event", "Input", "Message", "Program", "Session", "Timeout", "Trigger", "step"]
