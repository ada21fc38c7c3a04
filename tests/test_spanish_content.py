"""The Spanish catalog keeps the same rules as the English one, in Spanish (docs/content.md,
"En español"): the same ids, SMS lengths once the accents go, no stigmatizing word, sources that
exist, one "Prueba hoy:" line, nothing alarming on a lock screen, no gender guessed, and every
word it asks a family to reply understood. Also the pieces that make Spanish work: accents on
SMS, keywords with and without accents, and telling a newcomer's language."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.catalog.banned_terms import BannedTerms, load_banned_terms
from bot.catalog.catalog import Catalogs, Entry, Forms
from bot.catalog.locales import locale_gaps
from bot.catalog.render import longest_country_words
from bot.catalog.segments import count_segments, plain_sms
from bot.cli.main import main
from bot.engine.keywords import match_keyword, pause_until
from bot.program_files import Loaded, ProgramFiles, load_program
from bot.settings import REPO_ROOT
from bot.understanding.text import normalize, strip_accents
from tests.program import shipped
from tests.test_content import facts_sections

MESSAGES = REPO_ROOT / "messages"
ES_BANNED = MESSAGES / "banned_terms.es.yaml"
FALLBACK = {
    "parent": "tu hijo/a",
    "partner": "tu pareja",
    "sibling": "tu hermano/a",
    "child": "tu madre o padre",
    "friend": "tu amigo/a",
    "other": "tu ser querido",
}
# Long-ish values: a long first name, an organisation and a contact a deployment might have.
VALUES = {
    "name": "Christopher",
    "rewards": "los tacos de la abuela, el fútbol, una película",
    "org": "Family Recovery Center",
    "org_contact": "help@recovery-center.example.org",
    "lesson_time": "09:00",
    "checkin_time": "19:00",
    "pause_end": "miércoles 30 de septiembre",
    "answer_within": "en un plazo de dos días hábiles",  # ASK_ANSWER_WITHIN_ES
    "non_use_days": "7",
    "use_days": "7",
    "unsure_days": "7",
    "wellbeing": "1, 2, 3, 4, 5",
    # {emergency} and its kind: every country's longest Spanish words
    **longest_country_words(shipped().catalogs, "es"),
}
LESSON_POOLS = ("lesson.", "review.", "treatment_lesson.", "recovery_lesson.")
STEP_BACK_POOLS = ("step_back.", "treatment_step_back.", "recovery_step_back.")
PREVIEW_CHARS = 40
PREVIEW_WORDS = re.compile(
    r"\b(sobredosis|naloxona|narcan|opioides?|fentanilo|drogas?|borrach[oa]s?|c[aá]rcel|"
    r"juzgado|tribunal|libertad condicional|desintoxicaci[oó]n)\b",
    re.IGNORECASE,
)
PRUEBA_HOY = re.compile(r"Prueba hoy: [^\n]+$")
# Adjectives that would guess whether the reader or the loved one is a man or a woman; allowed
# only as a pair ("segura ni seguro", "concreto o concreta").
GENDERED = re.compile(
    r"(?<!la )\b(sobri[oa]s?|bienvenid[oa]s?|cansad[oa]s?|agotad[oa]s?|enojad[oa]s?|"
    r"preocupad[oa]s?)\b",
    re.IGNORECASE,
)
# Reply words of mechanics still to be built (docs/content.md): their flows will add them.
PROPOSED = {"seguridad", "etapa", "progreso", "a veces"}
# Capitals that are names, not words to reply.
NAMES = {"craft", "samhsa", "dbt", "iop", "nida", "aa", "na", "smart", "stop", "help", "yes"}


@pytest.fixture(scope="module")
def loaded() -> Loaded:
    return shipped()


@pytest.fixture(scope="module")
def catalogs(loaded: Loaded) -> Catalogs:
    return loaded.catalogs


def spanish(catalogs: Catalogs, prefixes: tuple[str, ...] = ("",)) -> Iterator[Entry]:
    return (e for i, e in catalogs.locales["es"].items() if i.startswith(prefixes))


def variants(entry: Entry) -> Iterator[tuple[str, Forms, list[str]]]:
    """Each variant with the relationships that read it."""
    for label, forms in entry.variants().items():
        rels = [label.removeprefix("for ")] if label.startswith("for ") else list(FALLBACK)
        yield label, forms, rels


def filled(text: str, relationship: str, loved_one: str = "") -> str:
    loved = loved_one or FALLBACK[relationship]
    return text.format_map(
        {**VALUES, "loved_one": loved, "Loved_one": loved[:1].upper() + loved[1:]}
    )


def as_sms(catalogs: Catalogs, text: str) -> str:
    return catalogs.sms_text(text, "es")


# --- the same messages as English ---------------------------------------------------------------
def test_spanish_has_every_message_english_has_and_no_other(catalogs: Catalogs) -> None:
    gaps = locale_gaps(
        {x: catalogs.ids(x) for x in catalogs.locales}, catalogs.rules, "en", "locales.yaml"
    )
    assert [str(p) for p in gaps] == []
    # and what is pending is exactly what is missing, each with its reason: every missing id is
    # named by an entry, and every entry names only missing ids
    rules = catalogs.rules["es"]
    missing = set(catalogs.ids("en")) - set(catalogs.ids("es"))
    assert {i for i in missing if rules.why_pending(i) is None} == set()
    for entry in rules.pending:
        named = set(rules.named(entry, catalogs.ids("en")))
        assert named and named <= missing, entry
    assert all(why.strip() for why in rules.pending.values())


def copy_program(root: Path) -> Path:
    for part in ("flows", "messages"):
        shutil.copytree(REPO_ROOT / part, root / part)
    return root


@pytest.mark.parametrize(
    ("folder", "id_", "said"),
    [
        ("en", "selfcare.new_one", "is in messages/en/ but not in messages/es/"),
        ("es", "selfcare.nueva", "is in messages/es/ but not in messages/en/"),
    ],
)
def test_a_message_in_one_locale_only_fails_the_check(
    folder: str,
    id_: str,
    said: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a coach who adds a self-care nudge in one language only
    root = copy_program(tmp_path)
    extra = root / "messages" / folder / "extra.yaml"
    extra.write_text(f'{id_}: "Una caminata corta hoy, {{name}}."\n', encoding="utf-8")
    # when they run the content check
    code = main(["content", "check", "--path", str(root)])
    err = capsys.readouterr().err
    # then it fails, naming the message and what to do
    assert code == 1
    assert f"message '{id_}' {said}" in err


def test_a_pending_entry_that_is_translated_now_is_reported_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_program(tmp_path)
    locales = root / "messages" / "locales.yaml"
    text = locales.read_text(encoding="utf-8")
    locales.write_text(
        text.replace("  pending:\n", "  pending:\n    keyword.help: not translated\n"),
        encoding="utf-8",
    )
    assert main(["content", "check", "--path", str(root)]) == 1
    assert "pending 'keyword.help': it is translated now" in capsys.readouterr().err


# --- lengths --------------------------------------------------------------------------------------
def test_every_spanish_sms_fits_its_budget_once_the_accents_go(catalogs: Catalogs) -> None:
    too_long = []
    for entry in spanish(catalogs):
        for label, forms, rels in variants(entry):
            for rel in rels:
                sent = as_sms(catalogs, filled(forms.sms or forms.text, rel))
                encoding, segments = count_segments(sent)
                if segments > entry.max_segments:
                    too_long.append(f"{entry.id} ({label}, {rel}): {segments} {encoding}")
    assert too_long == []


def test_spanish_long_forms_stay_under_900_characters(catalogs: Catalogs) -> None:
    assert [
        e.id
        for e in spanish(catalogs)
        for _, forms, _ in variants(e)
        if forms.long and len(filled(forms.long, "other")) > 900
    ] == []


def test_every_step_back_reply_leaves_room_for_the_spanish_safety_line(catalogs: Catalogs) -> None:
    line = catalogs.locales["es"]["safety.line"].base.text
    no_room = []
    for entry in spanish(catalogs, STEP_BACK_POOLS):
        for label, forms, rels in variants(entry):
            for rel in rels:
                both = as_sms(catalogs, filled(forms.sms or forms.text, rel) + " " + line)
                if count_segments(both)[1] > 2:
                    no_room.append(f"{entry.id} ({label}, {rel})")
    assert no_room == []


def test_the_first_five_step_back_replies_carry_a_safety_line(catalogs: Catalogs) -> None:
    first = [e for e in spanish(catalogs, ("step_back.",))][:5]
    for entry in first:
        for label, forms, _ in variants(entry):
            text = strip_accents(forms.text).lower()
            assert "a salvo" in text and "{emergency}" in text, f"{entry.id} ({label})"


# --- words ----------------------------------------------------------------------------------------
def spanish_banned() -> BannedTerms:
    terms, problems = load_banned_terms(ES_BANNED)
    assert problems == []
    return terms.without_accents()


def test_no_stigmatizing_word_in_any_spanish_message(catalogs: Catalogs) -> None:
    local = spanish_banned()
    english, problems = load_banned_terms(MESSAGES / "banned_terms.yaml")
    assert problems == []
    found = [
        f"{e.id} ({label}): {hit.word}"
        for e in spanish(catalogs)
        for label, forms, _ in variants(e)
        for text in forms.all_forms().values()
        for hit in (local.find(strip_accents(text)), english.find(text))
        if hit
    ]
    assert found == []


def test_the_spanish_list_catches_the_words_it_is_for_and_spares_the_rest() -> None:
    terms = spanish_banned()

    def banned(text: str) -> bool:
        return terms.find(strip_accents(text)) is not None

    for said in (
        "Tu hijo es un adicto",
        "sigue siendo un drogadicto",
        "lleva un mes limpio",
        "después de su recaída",
        "el abuso de sustancias",
        "su padre es alcohólico",
        "su padre es alcoholico",  # the same word, as an SMS form without accents writes it
        "es un vicioso",
    ):
        assert banned(said), said
    for fine in (
        "Alcohólicos Anónimos se reúne los martes",
        "recoge lo que dejó el consumo",
        "un día sin consumo; volver a consumir",
        "la Línea Nacional contra la Violencia Doméstica",
    ):
        assert not banned(fine), fine


def spanish_banned_words_in_docs() -> list[str]:
    text = (REPO_ROOT / "docs" / "content.md").read_text(encoding="utf-8")
    found = re.search(r"The words below are banned in Spanish[^:]*:\s*(.+?)\.\s", text, re.DOTALL)
    assert found, "docs/content.md no longer lists the Spanish banned words where this looks"
    listed = " ".join(found.group(1).split())
    words: list[str] = []
    for also in re.findall(r"\(and ([^)]*)\)", listed):
        words += [w.strip() for w in also.split(",")]
    listed = re.sub(r"\([^)]*\)", "", listed)
    return words + [w.strip() for w in listed.split(",") if w.strip()]


def test_the_spanish_banned_words_in_the_docs_and_in_the_list_are_the_same() -> None:
    terms = spanish_banned()
    documented = spanish_banned_words_in_docs()
    assert len(documented) >= 15
    assert [w for w in documented if terms.find(strip_accents(w)) is None] == []
    said = {strip_accents(w.lower()) for w in documented}
    assert [t.words for t in terms.terms if not said & {w.lower() for w in t.words}] == []


def test_spanish_never_guesses_whether_someone_is_a_man_or_a_woman(catalogs: Catalogs) -> None:
    guessed = []
    for entry in spanish(catalogs):
        for label, forms, _ in variants(entry):
            for text in forms.all_forms().values():
                for hit in GENDERED.finditer(text):
                    pair = text[max(0, hit.start() - 16) : hit.end() + 16]
                    if not re.search(r"\b\w+[oa]s? (o|ni) \w+[oa]s?\b", pair):
                        guessed.append(f"{entry.id} ({label}): {hit.group(0)}")
                if re.search(r"\b(tu|su|mi) \{[Ll]oved_one\}", text):
                    guessed.append(f"{entry.id} ({label}): 'tu {{loved_one}}'")
    assert guessed == []
    # and the names used when none was given have no gender either
    names = {i: catalogs.locales["es"][f"relation.{i}"].base.text for i in FALLBACK}
    assert names == FALLBACK


def test_spanish_lessons_end_with_one_prueba_hoy_and_cite_sections_that_exist(
    catalogs: Catalogs,
) -> None:
    known = facts_sections()
    bad = []
    for entry in spanish(catalogs, LESSON_POOLS):
        cited = re.findall(r"§\d+(?:\.\d+)?", entry.source or "")
        if not cited or set(cited) - known:
            bad.append(f"{entry.id}: source {entry.source!r}")
        for label, forms, _ in variants(entry):
            for text in forms.all_forms().values():
                if not PRUEBA_HOY.search(text) or text.count("Prueba hoy:") != 1:
                    bad.append(f"{entry.id} ({label}): 'Prueba hoy:' line")
    assert bad == []
    # every message that cites the Spanish-speaking services cites a section that exists
    assert {"§14.1", "§14.2", "§14.3", "§14.4", "§14.5"} <= known


def test_a_spanish_lock_screen_shows_no_name_and_no_alarming_word(catalogs: Catalogs) -> None:
    exposed = []
    # the content files, as in English (tests/test_content.py): not the joining, keyword, check-in
    # and crisis texts, which open with their own plain words
    skip = ("crisis.", "onboarding.", "keyword.", "system.", "relation.", "language.", "checkin.")
    skip += ("number.",)  # words inside other messages ({naloxone}), never sent alone
    for entry in catalogs.locales["es"].values():
        if entry.id.startswith(skip):
            continue
        for label, forms, rels in variants(entry):
            text = filled(forms.sms or forms.text, rels[0], loved_one="NOMBRE_QUERIDO")
            starts = [m.start() for m in PREVIEW_WORDS.finditer(strip_accents(text))]
            starts += [m.start() for m in re.finditer("NOMBRE_QUERIDO", text)]
            if starts and min(starts) < PREVIEW_CHARS:
                exposed.append(f"{entry.id} ({label}): {text[:54]!r}")
    assert exposed == []


def test_every_word_a_spanish_message_asks_for_is_understood(
    loaded: Loaded, catalogs: Catalogs
) -> None:
    # the words families are told to reply ("Responde PARAR", "responde SÍ") ...
    keywords = {w for k in loaded.program.flows.routing.keywords for w in k.words}
    answers = loaded.program.understanding.answers["es"]
    understood = keywords | {
        p for c in answers.choices.values() for ps in c.options.values() for p in ps
    }
    understood |= set(answers.skip) | PROPOSED
    asked = set()
    for entry in spanish(catalogs):
        for _, forms, _ in variants(entry):
            for text in forms.all_forms().values():
                for clause in re.findall(r"[Rr]espond(?:e|as) ([^.:;]+)", text):
                    for said in re.findall(r"\b[A-ZÁÉÍÓÚÑ]+(?: [A-ZÁÉÍÓÚÑ]+)*\b", clause):
                        if len(said) > 1 and normalize(said) not in NAMES:
                            asked.add(normalize(said))
    # ... are each a keyword or an answer the Spanish lexicon reads
    assert sorted(asked - understood) == []
    assert {"parar", "ayuda", "inicio", "pausa", "seguir", "recursos", "gustos", "si"} <= asked


# --- SMS letters ----------------------------------------------------------------------------------
PLAIN = {"á": "a", "é": "e", "í": "i", "ó": "o", "ú": "u"}


def test_an_sms_keeps_its_accents_unless_they_cost_a_segment() -> None:
    short = "¿Cómo estás? Responde SÍ o NO."
    assert plain_sms(short, PLAIN) == short  # one UCS-2 segment either way: the accents stay
    long = "Recompensa el tiempo sin consumo: una palabra amable, tu compañía. " * 3
    plain = plain_sms(long.replace("Recompensa", "Recompénsalo"), PLAIN)
    assert "é" not in plain and count_segments(plain) == ("GSM-7", 2)
    # ñ, ¿ and ¡ are GSM-7: they never go
    assert "ñ" in plain_sms("Mañana, ¡ánimo! " * 12, PLAIN)
    assert plain_sms("¡Ánimo! " * 30, {**PLAIN, "Á": "A"}).startswith("¡Animo!")
    # a text whose only accent is é is GSM-7 as written
    assert plain_sms("Qué bueno saberlo. " * 5, PLAIN).startswith("Qué")


# --- keywords in Spanish --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "keyword"),
    [
        ("LECCIÓN", "lesson"),
        ("leccion", "lesson"),
        ("Lección.", "lesson"),
        ("AYUDA", "help"),
        ("Ayuda!", "help"),
        ("parar", "stop"),
        ("BAJA", "stop"),
        ("darme de baja", "stop"),
        ("Español", "language"),
        ("espanol", "language"),
        ("INGLÉS", "language"),
        ("idioma", "languages"),
        ("RECURSOS", "resources"),
        ("seguir", "resume"),
        ("gustos", "rewards"),
    ],
)
def test_spanish_keywords_match_with_and_without_accents(
    typed: str, keyword: str, loaded: Loaded
) -> None:
    found = match_keyword(loaded.program.flows.routing.keywords, typed, None, opted_out=False)
    assert found is not None and found[0].name == keyword


def test_spanish_start_words_work_after_stopping(loaded: Loaded) -> None:
    keywords = loaded.program.flows.routing.keywords
    for typed in ("INICIO", "comenzar"):
        found = match_keyword(keywords, typed, None, opted_out=True, channel="telegram")
        assert found is not None and found[0].name == "start", typed
    # SÍ, like YES, is an opt-in word on SMS only: a stray "sí" on Telegram or email after
    # PARAR must not bring the messages back (flows/keywords.yaml, channel_words)
    found = match_keyword(keywords, "Sí", None, opted_out=True, channel="sms")
    assert found is not None and found[0].name == "start"
    for channel in ("telegram", "email"):
        assert match_keyword(keywords, "Sí", None, opted_out=True, channel=channel) is None
    assert match_keyword(keywords, "INICIO", None, opted_out=False) is None


def test_pausa_takes_days_and_weeks_in_spanish(loaded: Loaded) -> None:
    found = match_keyword(loaded.program.flows.routing.keywords, "PAUSA 3 días", None, False)
    assert found is not None and found[0].name == "pause"
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert pause_until(found[1], now) == now + timedelta(days=3)
    assert pause_until("por 2 semanas", now) == now + timedelta(days=14)


def test_a_word_spelled_twice_with_and_without_its_accent_is_refused(tmp_path: Path) -> None:
    root = copy_program(tmp_path)
    keywords = root / "flows" / "keywords.yaml"
    text = keywords.read_text(encoding="utf-8")
    keywords.write_text(text.replace("es: [LECCIÓN]", "es: [LECCIÓN, LECCION]"), encoding="utf-8")
    loaded, problems = load_program(ProgramFiles.at(root))
    assert loaded is None
    assert any(
        "'LECCIÓN' and 'LECCION' are the same word once case and accents are ignored" in str(p)
        for p in problems
    ), problems


def test_every_complete_locale_needs_its_own_stop_start_and_help(tmp_path: Path) -> None:
    root = copy_program(tmp_path)
    keywords = root / "flows" / "keywords.yaml"
    text = keywords.read_text(encoding="utf-8")
    keywords.write_text(text.replace("      es: [AYUDA]\n", ""), encoding="utf-8")
    loaded, problems = load_program(ProgramFiles.at(root))
    assert loaded is None
    assert [p.message for p in problems] == [
        "no words under 'es' start flow 'help', so a family reading es could not say HELP in "
        "their own words"
    ]


# --- telling a newcomer's language ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hola", "es"),
        ("Buenas tardes", "es"),
        ("quiero información", "es"),
        ("AYUDA", "es"),
        ("mi hijo no respira", "es"),
        ("hi", "en"),
        ("Hello, I'd like information", "en"),
        ("he took too many pills", "en"),
        ("Ana", None),
        ("2", None),
        ("ok", None),
        ("/start", None),
    ],
)
def test_a_newcomers_words_tell_their_language_or_nothing(
    text: str, language: str | None, loaded: Loaded
) -> None:
    assert loaded.program.languages.guess(text) == language


def test_a_providers_language_tag_counts_only_for_a_language_we_speak(loaded: Loaded) -> None:
    languages = loaded.program.languages
    assert languages.tagged("es-MX") == "es" and languages.tagged("es") == "es"
    assert languages.tagged("en-US") == "en"
    assert languages.tagged("fr") is None and languages.tagged(None) is None


# --- the commands, per locale ---------------------------------------------------------------------
def test_content_check_reports_each_locales_sms_as_sent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["content", "check", "--locale", "es"]) == 0
    out = capsys.readouterr().out
    figures = re.search(
        r"^es: (\d+) messages, (\d+) SMS forms: .*; (\d+) leave out accents", out, re.M
    )
    assert figures, out
    assert int(figures.group(3)) > int(figures.group(2)) // 2
    assert "relationship variants (es)" in out and "relationship variants (en)" not in out


def test_preview_reads_the_program_in_spanish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "es.md"
    args = ["content", "preview", "--locale", "es", "--relationship", "friend", "--out", str(out)]
    assert main([*args, "--channel", "telegram"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Prueba hoy:" in text and "tu amigo/a" in text and "Try today:" not in text
    assert main(["content", "preview", "--locale", "xx"]) == 2
    assert "there is no locale 'xx'" in capsys.readouterr().err


def test_graph_shows_the_first_words_in_the_language_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["flows", "graph", "switch_language", "--locale", "es"]) == 0
    assert "<i>Listo: desde ahora te escribo en español." in capsys.readouterr().out
    assert main(["flows", "graph", "switch_language", "--locale", "en"]) == 0
    assert "<i>OK, from now on I'll write to you in English." in capsys.readouterr().out


# --- tú, kept; the numbers for Spanish speakers ------------------------------------------------
# Usted shows in the pronoun and in the imperative that opens a sentence ("Responda", "Llame"):
# every Spanish message speaks tú (docs/content.md, "Tú, not usted"). "Ustedes" is the plural of
# tú as well in Latin America ("solo ustedes dos"), so it is allowed.
USTED = re.compile(
    r"\b(usted|ud)\b|(^|[.!?¿¡:]\s+)(responda|escriba|llame|envíe|envie|marque|"
    r"conteste|elija|pregunte|recuerde|intente|vuelva|diga|hable)\b",
    re.IGNORECASE | re.MULTILINE,
)


def test_every_spanish_message_speaks_tu_never_usted(catalogs: Catalogs) -> None:
    found = [
        (entry.id, label, hit.group(0).strip())
        for entry in spanish(catalogs)
        for label, forms, _ in variants(entry)
        for text in forms.all_forms().values()
        if (hit := USTED.search(text))
    ]
    assert found == []
    # and the check sees usted where it is
    assert USTED.search("Gracias. Responda SÍ para seguir.")
    assert USTED.search("¿Cómo está usted hoy?")
    assert not USTED.search("Responde SÍ. Cuando te llame, escúchale.")


SPANISH_NUMBERS = {
    # the US: 988 in Spanish (press 2, or text AYUDA), SAMHSA's helpline, the hotline (§14.1)
    "crisis.suicide.US": ("988 y marca 2", "AYUDA al 988"),
    "keyword.help.US": ("988 y marca 2", "911"),
    "keyword.resources.US": ("988 y marca 2", "AYUDA", "1-800-662-4357"),
    "crisis.violence.US": ("911", "1-800-799-7233"),
    # Mexico: 911 and Línea de la Vida; Spain: 112, 024 and 016 (§13)
    "crisis.suicide.MX": ("911", "800 911 2000"),
    "keyword.resources.MX": ("911", "800 911 2000"),
    "crisis.overdose.ES": ("112",),
    "crisis.suicide.ES": ("112", "024"),
    "crisis.violence.ES": ("112", "016"),
}


@pytest.mark.parametrize("message_id", sorted(SPANISH_NUMBERS))
def test_spanish_replies_give_the_numbers_that_answer_in_spanish(
    catalogs: Catalogs, message_id: str
) -> None:
    entry = catalogs.locales["es"][message_id]
    for label, forms, _ in variants(entry):
        for channel, text in forms.all_forms().items():
            plain = as_sms(catalogs, text) if channel == "sms" else text
            for number in SPANISH_NUMBERS[message_id]:
                assert number in plain, (message_id, label, channel, number)
