"""Crisis replies: the right numbers for each country, emergency number first, safe wording."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.catalog.catalog import Catalogs, Entry, load_catalogs
from bot.catalog.check import check_catalogs, load_banned_terms
from bot.catalog.segments import count_segments

MESSAGES = Path(__file__).resolve().parent.parent / "messages"
COUNTRIES = ("US", "CA", "GB", "IE", "AU", "NZ", "ES", "MX")
CATEGORIES = ("overdose", "suicide", "violence", "child")
EMERGENCY = {
    "US": "911",
    "CA": "911",
    "GB": "999",
    "IE": "112",
    "AU": "000",
    "NZ": "111",
    "ES": "112",
    "MX": "911",
}
# Ireland answers on 112 and 999 alike; in the UK, 111 is the NHS line for "not sure".
ALSO = {"IE": {"999"}, "GB": {"111"}}
# Lines that exist only in the United States (988 also serves Canada).
US_ONLY = ("1-800-799-7233", "88788", "1-800-222-1222", "1-800-422-4453", "1-800-662-4357")
STEPS = ["naloxone", "rescue breaths", "side", "second dose", "Stay with them"]
# craft-facts.md §4, §12, §13: what each reply must give, besides the emergency number.
HOTLINES = {
    ("overdose", "US"): [*STEPS, "Narcan"],
    **{("overdose", c): STEPS for c in COUNTRIES if c != "US"},
    ("suicide", "US"): ["call or text 988", "AYUDA"],
    ("suicide", "CA"): ["call or text 988", "686868"],
    ("suicide", "GB"): ["116 123", "85258"],
    ("suicide", "IE"): ["116 123", "50808"],
    ("suicide", "AU"): ["13 11 14", "0477 13 11 14"],
    ("suicide", "NZ"): ["1737"],
    ("suicide", "ES"): ["024"],
    ("suicide", "MX"): ["800 911 2000"],
    # a domestic-abuse line in every country
    ("violence", "US"): ["1-800-799-7233", "START to 88788"],
    ("violence", "CA"): ["ShelterSafe.ca", "988"],
    ("violence", "GB"): ["0808 2000 247"],
    ("violence", "IE"): ["1800 341 900"],
    ("violence", "AU"): ["1800 737 732"],
    ("violence", "NZ"): ["0800 733 843"],
    ("violence", "ES"): ["016"],
    ("violence", "MX"): ["800 911 2000", "rednacionalderefugios.org.mx"],
    # a child line in every country (and poison help where the country has a line)
    ("child", "US"): ["1-800-222-1222", "1-800-422-4453"],
    ("child", "CA"): ["1-844-764-7669", "1-800-668-6868"],
    ("child", "GB"): ["0808 800 5000"],
    ("child", "IE"): ["01 809 2166", "1800 66 66 66"],
    ("child", "AU"): ["13 11 26", "1800 55 1800"],
    ("child", "NZ"): ["0800 764 766", "0508 326 459"],
    ("child", "ES"): ["91 562 04 20", "900 20 20 10"],
    ("child", "MX"): ["089"],
}
SPANISH_US = {
    "overdose": ["naloxona", "911"],
    "suicide": ["988 y marca 2", "AYUDA al 988", "911"],
    "violence": ["1-800-799-7233", "START al 88788", "911"],
    "child": ["1-800-222-1222", "1-800-422-4453", "911"],
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
    mine = [str(p) for p in problems if "/crisis" in p.file]
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
        for other in set(EMERGENCY.values()) - {EMERGENCY[country]} - ALSO.get(country, set()):
            assert not says(text, other), (
                f"{category}.{country} {name} names {other}, another country's number"
            )
        if country != "US":
            assert not any(line in text for line in US_ONLY), f"{category}.{country} {name}"
        if country not in ("US", "CA"):
            assert not says(text, "988"), f"{category}.{country} {name} names 988"
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


@pytest.mark.parametrize(("country", "needed"), [("ES", ["112", "024", "016"]), ("MX", ["911"])])
def test_spain_and_mexico_have_their_own_spanish_replies(
    catalogs: Catalogs, country: str, needed: list[str]
) -> None:
    for category in CATEGORIES:
        forms = entry(catalogs, f"crisis.{category}.{country}", "es").base
        assert says(forms.for_channel("sms").splitlines()[0], EMERGENCY[country])
        for text in forms.all_forms().values():
            assert not any(line in text for line in US_ONLY) and not says(text, "988")
    violence = entry(catalogs, f"crisis.violence.{country}", "es").base.text
    suicide = entry(catalogs, f"crisis.suicide.{country}", "es").base.text
    assert all(says(violence + suicide, n) for n in needed)


# Everything a family can be sent with a number in it: each of these has a version for every
# country, and its plain id is the international one.
NUMBERED = (
    *(f"crisis.{c}" for c in CATEGORIES),
    *(f"crisis.distress{k}" for k in ("", ".rage", ".fear", ".despair", ".passed_out")),
    *(f"crisis.distress.after_{k}" for k in ("overdose", "suicide", "violence", "child")),
    *(f"crisis.answer.{k}" for k in ("naloxone_where", "naloxone_store", "naloxone_use")),
    "crisis.answer.overdose_signs",
    *(f"crisis.followup_{k}" for k in ("not_ok", "hospital", "getting_help", "scared", "reask")),
    *(f"followup.reflect.{k}" for k in ("feelings", "story", "question")),
    "checkin.reask",
    *(f"checkin.reflect.{k}" for k in ("feelings", "story", "question")),
    "keyword.help",
    "keyword.resources",
    "country.set",
)


@pytest.mark.parametrize("country", COUNTRIES)
def test_every_numbered_message_has_this_countrys_version(catalogs: Catalogs, country: str) -> None:
    missing = [m for m in NUMBERED if f"{m}.{country}" not in catalogs.locales["en"]]
    assert missing == []
    for message_id in NUMBERED:
        for text in entry(catalogs, f"{message_id}.{country}").base.all_forms().values():
            for other in set(EMERGENCY.values()) - {EMERGENCY[country]} - ALSO.get(country, set()):
                assert not says(text, other), f"{message_id}.{country} names {other}"
            if country != "US":
                assert not any(line in text for line in US_ONLY), f"{message_id}.{country}"
            if country not in ("US", "CA"):
                assert not says(text, "988"), f"{message_id}.{country}"


@pytest.mark.parametrize("locale", ["en", "es"])
def test_the_plain_messages_are_international_never_another_countrys(
    catalogs: Catalogs, locale: str
) -> None:
    for message_id in NUMBERED:
        found = catalogs.locales[locale].get(message_id)
        if found is None:
            assert locale == "es" and message_id.startswith(("checkin.", "keyword."))
            continue
        for text in found.base.all_forms().values():
            for number in ("911", "999", "000", "111", "988", "024", "016", *US_ONLY):
                assert not says(text, number), f"{locale}/{message_id} names {number}"
            local = "local emergency number" in text or "emergencias" in text
            assert local or "findahelpline.com" in text, f"{locale}/{message_id}"


@pytest.mark.parametrize("locale", ["en", "es"])
def test_suicide_replies_name_no_method_and_say_help_exists(
    catalogs: Catalogs, locale: str
) -> None:
    countries = COUNTRIES if locale == "en" else ("US", "ES", "MX")
    for country in countries:
        for text in entry(catalogs, f"crisis.suicide.{country}", locale).base.all_forms().values():
            words = set(re.findall(r"[a-záéíóúñ]+", text.lower()))
            assert not words & set(METHOD_WORDS), country
            assert "Help exists" in text or "Hay ayuda" in text


def test_no_stigmatizing_words_no_broken_placeholders_and_sms_fits(catalogs: Catalogs) -> None:
    banned, problems = load_banned_terms(MESSAGES / "banned_terms.yaml")
    assert problems == [] and "addict" in banned
    found = [str(p) for p in check_catalogs(catalogs, banned) if "/crisis" in p.file]
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
    for reply in ("followup_hospital", "followup_getting_help"):
        for country in COUNTRIES:
            assert "RESUME" in entry(catalogs, f"crisis.{reply}.{country}").base.text
