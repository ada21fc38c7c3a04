"""Reply, quote and signature stripping for inbound email."""

from __future__ import annotations

import pytest

from bot.channels.email_text import html_to_text, strip_reply

GMAIL = """non-use

On Tue, Mar 4, 2025 at 7:00 PM CraftBot <coach@example.org> wrote:
> Evening check-in: was today a use or non-use day?
> Reply with one word.
"""

GMAIL_WRAPPED = """It was a non-use day, we cooked together.

On Tue, Mar 4, 2025 at 7:00 PM CraftBot Coach <coach@example.org>
wrote:

> Evening check-in: was today a use or non-use day?
"""

OUTLOOK = """non-use

________________________________
From: CraftBot <coach@example.org>
Sent: Tuesday, March 4, 2025 7:00 PM
To: sam@example.org
Subject: Tonight's check-in

Evening check-in: was today a use or non-use day?
"""

OUTLOOK_NO_RULE = """use, sadly

From: CraftBot <coach@example.org>
Sent: Tuesday, March 4, 2025 7:00 PM
Subject: Tonight's check-in
Was today a use or non-use day?
"""

ORIGINAL_MESSAGE = """unsure

-----Original Message-----
From: coach@example.org
Was today a use or non-use day?
"""

IPHONE = """non-use

Sent from my iPhone

> On Mar 4, 2025, at 19:00, CraftBot <coach@example.org> wrote:
> Was today a use or non-use day?
"""

SIGNATURE = """non-use, and thank you
--\x20
Sam Rivera
Saturday volunteer, Example Org
"""

SPANISH = """no consumió hoy

El mar, 4 mar 2025 a las 19:00, CraftBot (<coach@example.org>) escribió:
> ¿Hoy fue un día de consumo o sin consumo?
"""

BOTTOM_POSTED = """On Tue, Mar 4, 2025 at 7:00 PM CraftBot <coach@example.org> wrote:
> Was today a use or non-use day?

non-use

--\x20
Sam
"""


@pytest.mark.parametrize(
    ("email", "typed"),
    [
        (GMAIL, "non-use"),
        (GMAIL_WRAPPED, "It was a non-use day, we cooked together."),
        (OUTLOOK, "non-use"),
        (OUTLOOK_NO_RULE, "use, sadly"),
        (ORIGINAL_MESSAGE, "unsure"),
        (IPHONE, "non-use"),
        (SIGNATURE, "non-use, and thank you"),
        (SPANISH, "no consumió hoy"),
        (BOTTOM_POSTED, "non-use"),
    ],
    ids=[
        "gmail",
        "gmail-wrapped",
        "outlook",
        "outlook-no-rule",
        "original-message",
        "iphone",
        "signature",
        "spanish",
        "bottom-posted",
    ],
)
def test_what_was_typed_survives_and_the_thread_goes(email: str, typed: str) -> None:
    assert strip_reply(email) == typed


def test_a_message_without_a_thread_is_kept_whole_with_its_paragraphs() -> None:
    text = "Hi,\r\n\r\nToday went better than I feared.\r\nWe talked on the porch.\r\n"
    assert strip_reply(text) == "Hi,\n\nToday went better than I feared.\nWe talked on the porch."


def test_ordinary_words_that_look_like_markers_are_kept() -> None:
    text = "From: the start of the week he was calmer.\nOn Sunday we went for a walk."
    assert strip_reply(text) == text


def test_only_a_quote_gives_nothing() -> None:
    assert strip_reply("> Was today a use or non-use day?\n") == ""


def test_html_body_loses_tags_styles_and_the_gmail_quote() -> None:
    html = (
        "<html><head><style>p {color: red}</style></head><body>"
        "<div dir='ltr'>non-use<br>we had dinner&nbsp;together</div>"
        "<div class='gmail_quote'><div>On Tue, CraftBot wrote:</div>"
        "<blockquote><p>Was today a use or non-use day?</p></blockquote></div>"
        "</body></html>"
    )
    assert html_to_text(html) == "non-use\nwe had dinner together"


def test_html_blockquote_with_unclosed_paragraphs_is_skipped_whole() -> None:
    html = "<p>non-use<blockquote><p>quoted<p>more quoted</blockquote><p>after"
    assert html_to_text(html) == "non-use\nafter"
