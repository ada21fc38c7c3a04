"""SMS and email shapes beyond plain text: pictures, attachments, subjects, and who sent them."""

from __future__ import annotations

import pytest

from bot.channels.sendgrid_email import parse_inbound_email
from bot.channels.twilio_sms import parse_inbound_sms
from bot.channels.webhook_auth import email_sender_check
from tests.standins.sendgrid_api import inbound_parse_form
from tests.standins.twilio_api import inbound_sms_form


def test_a_picture_by_mms_without_words_is_media() -> None:
    form = {**inbound_sms_form("+15550191", ""), "NumMedia": "1", "MediaUrl0": "https://x.test/1"}
    got = parse_inbound_sms(form)
    assert got is not None and (got.text, got.media) == ("", "mms")
    assert parse_inbound_sms({**inbound_sms_form("+15550191", ""), "NumMedia": "0"}) is None


def test_an_email_with_only_an_attachment_is_media() -> None:
    form = {**inbound_parse_form("att@example.org", "", subject="Re: hello"), "attachments": "2"}
    got = parse_inbound_email(form)
    assert got is not None and (got.text, got.media) == ("", "attachment")


@pytest.mark.parametrize(
    ("subject", "body", "text", "kept_subject"),
    [
        ("he overdosed", "please help", "please help", "he overdosed"),
        ("Re: A note from Family Support", "1", "1", ""),
        ("Fwd: he overdosed", "see below", "see below", ""),
        ("he is not breathing", "", "he is not breathing", ""),  # a subject alone is the words
    ],
)
def test_a_subject_the_person_wrote_is_kept_beside_the_words(
    subject: str, body: str, text: str, kept_subject: str
) -> None:
    got = parse_inbound_email(inbound_parse_form("subj@example.org", body, subject=subject))
    assert got is not None and (got.text, got.subject) == (text, kept_subject)


@pytest.mark.parametrize(
    ("sender", "dkim", "spf", "believed", "reason"),
    [
        ("a@example.org", "{@example.org : pass}", "pass", True, "dkim=pass aligned, spf=pass"),
        ("a@mail.example.org", "{@example.org : pass}", "fail", True, "dkim=pass aligned"),
        ("a@example.org", "{@mail.example.org : pass}", "none", True, "dkim=pass aligned"),
        ("a@Example.ORG", "{@EXAMPLE.org : PASS}", "", True, "dkim=pass aligned"),
        ("a@example.org", "{@x.test : pass, @example.org : pass}", "", True, "aligned"),
        ("a@example.org", "{@example.org : fail}", "pass", False, "dkim=fail, spf=pass"),
        ("a@example.org", "{@x.test : pass}", "pass", False, "pass for another domain"),
        ("a@example.org", "none", "pass", False, "dkim=none, spf=pass"),
        ("a@example.org", "", "", False, "dkim=none, spf=none"),
        ("a@example.org", "{@example.org : weird}", "bogus words", False, "dkim=other, spf=other"),
        ("a@notexample.org", "{@example.org : pass}", "pass", False, "another domain"),
    ],
)
def test_a_from_address_is_believed_only_with_an_aligned_dkim_pass(
    sender: str, dkim: str, spf: str, believed: bool, reason: str
) -> None:
    check = email_sender_check(sender.lower(), dkim, spf)
    assert check.believed is believed and reason in check.reason
    assert "example" not in check.reason and "x.test" not in check.reason  # no domain logged
