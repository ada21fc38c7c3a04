"""Crisis replies: the right numbers for each country, emergency number first, safe wording."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.catalog.catalog import Catalogs, Entry, load_catalogs
from bot.catalog.check import check_catalogs, load_banned_terms
from bot.catalog.segments import count_segments

MESSAGES = Path(__file__).resolve().parent.parent / "messages"
COUNTRIES = ("US", "CA", "GB", "AU")
CATEGORIES = ("overdose", "suicide", "violence")
EMERGENCY = {"US": "911", "CA": "911", "GB": "999", "AU": "000"}
# craft-facts.md §4: what each reply must give, besides the emergency number.
HOTLINES = {
    ("overdose", "US"): [
        "naloxone",
        "Narcan",
        "rescue breaths",
        "side",
        "second dose",
        "Stay with them",
    ],
    ("overdose", "CA"): ["naloxone", "rescue breaths", "side", "second dose", "Stay with them"],
    ("overdose", "GB"): ["naloxone", "rescue breaths", "side", "second dose", "Stay with them"],
    ("overdose", "AU"): ["naloxone", "rescue breaths", "side", "second dose", "Stay with them"],
    ("suicide", "US"): ["call or text 988", "AYUDA"],
    ("suicide", "CA"): ["call or text 988", "686868"],
    ("suicide", "GB"): ["116 123", "85258"],
    ("suicide", "AU"): ["13 11 14", "0477 13 11 14"],
    ("violence", "US"): ["1-800-799-7233", "START to 88788"],
    ("violence", "CA"): ["988", "686868"],
    ("violence", "GB"): ["116 123", "85258"],
    ("violence", "AU"): ["13 11 14"],
}
SPANISH_US = {
    "overdose": ["naloxona", "911"],
    "suicide": ["988 y marca 2", "AYUDA al 988", "911"],
    "violence": ["1-800-799-7233", "START al 88788", "911"],
}
# Safe messaging (§5): no means, methods or places in a suicide reply.
METHOD_WORDS = [
    "pill",
    "pills",
    "gun",
    "rope",
    "hang",
    "bridge",
    "jump",
    "knife",
    "overdose",
    "poison",
]


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    loaded, problems = load_catalogs(MESSAGES)
    mine = [str(p) for p in problems if p.file.endswith("crisis.yaml")]
    assert mine == []
    return loaded


def entry(catalogs: Catalogs, message_id: str, locale: str = "en") -> Entry:
    found = catalogs.locales[locale].get(message_id)
    assert found is not None, f"{locale}/{message_id} is missing"
    return found


def says(text: str, number: str) -> bool:
    return re.search(rf"(?<![\d-]){re.escape(number)}(?![\d-])", text) is not None


@pytest.mark.parametrize("country", COUNTRIES)
@pytest.mark.parametrize("category", CATEGORIES)
def test_each_reply_gives_the_countrys_emergency_number_first_and_its_lines(
    catalogs: Catalogs, category: str, country: str
) -> None:
    forms = entry(catalogs, f"crisis.{category}.{country}").base
    sms = forms.for_channel("sms")
    assert says(sms.splitlines()[0], EMERGENCY[country]), f"first SMS line: {sms.splitlines()[0]!r}"
    for name, text in forms.all_forms().items():
        assert says(text, EMERGENCY[country]), name
        for other in set(EMERGENCY.values()) - {EMERGENCY[country]}:
            assert not says(text, other), (
                f"{category}.{country} {name} names {other}, another country's number"
            )
    for needed in HOTLINES[(category, country)]:
        assert needed in sms, f"{category}.{country} SMS lacks {needed!r}"


@pytest.mark.parametrize("category", CATEGORIES)
def test_spanish_us_replies_use_the_spanish_lines(catalogs: Catalogs, category: str) -> None:
    forms = entry(catalogs, f"crisis.{category}.US", "es").base
    assert says(forms.for_channel("sms").splitlines()[0], "911")
    for text in forms.all_forms().values():
        for needed in SPANISH_US[category]:
            assert needed in text


def test_other_countries_fall_back_to_english_for_spanish_speakers(catalogs: Catalogs) -> None:
    fallback = catalogs.get("crisis.suicide.GB", "es")
    assert fallback is not None and fallback.locale == "en" and "116 123" in fallback.base.text


@pytest.mark.parametrize("locale", ["en", "es"])
def test_suicide_replies_name_no_method_and_say_help_exists(
    catalogs: Catalogs, locale: str
) -> None:
    countries = COUNTRIES if locale == "en" else ("US",)
    for country in countries:
        for text in entry(catalogs, f"crisis.suicide.{country}", locale).base.all_forms().values():
            words = set(re.findall(r"[a-záéíóúñ]+", text.lower()))
            assert not words & set(METHOD_WORDS), country
            assert "Help exists" in text or "Hay ayuda" in text


def test_no_stigmatizing_words_no_broken_placeholders_and_sms_fits(catalogs: Catalogs) -> None:
    banned, problems = load_banned_terms(MESSAGES / "banned_terms.yaml")
    assert problems == [] and "addict" in banned
    found = [str(p) for p in check_catalogs(catalogs, banned) if p.file.endswith("crisis.yaml")]
    assert found == []


def test_crisis_sms_stay_in_the_cheap_alphabet(catalogs: Catalogs) -> None:
    # One accent outside GSM-7 would cut each segment from 153 to 67 characters.
    for locale in ("en", "es"):
        for message_id, item in catalogs.locales[locale].items():
            if message_id.startswith("crisis."):
                encoding, _ = count_segments(item.base.for_channel("sms"))
                assert encoding == "GSM-7", f"{locale}/{message_id}"


def test_team_told_and_follow_up_texts(catalogs: Catalogs) -> None:
    told = entry(catalogs, "crisis.team_told").base.text
    assert "{org}" in told and "{org_contact}" in told
    followup = entry(catalogs, "crisis.followup").base.text
    # NOT OK, not HELP: HELP is the carrier keyword and always gets the program's help text.
    assert (
        "Reply OK" in followup
        and "NOT OK" in followup
        and "HELP" not in followup
        and "{name}" in followup
    )
    assert "NO ESTOY BIEN" in entry(catalogs, "crisis.followup", "es").base.text
    assert "start again" in entry(catalogs, "crisis.followup_ok").base.text
    for country in COUNTRIES:
        # The engine adds crisis.team_told only when staff are configured: the reply itself never
        # claims that a person knows (issue 11: "the bot says a person knows when nobody does").
        not_ok = entry(catalogs, f"crisis.followup_not_ok.{country}").base.text
        assert says(not_ok, EMERGENCY[country])
        assert "knows" not in not_ok and "{org" not in not_ok and "reach out" not in not_ok
        scared = entry(catalogs, f"crisis.followup_scared.{country}").base.text
        assert scared.startswith("Your safety comes first") and says(scared, EMERGENCY[country])
    for reply in ("followup_hospital", "followup_getting_help", "followup_reask"):
        assert "RESUME" in entry(catalogs, f"crisis.{reply}").base.text or reply.endswith("reask")
