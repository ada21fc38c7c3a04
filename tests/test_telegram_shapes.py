"""Every shape of update Telegram can post reads as a message, a block, or nothing; never an error.

Fixtures are our own, written after the payloads Telegram documents and that other open-source
gateways record (RapidPro's courier among them). Some recorded updates lack fields today's
Telegram always sends (`is_bot` on a user): python-telegram-bot refuses those, and the parser then
reads the fields it needs directly.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.channels.base import InboundMessage
from bot.channels.telegram import ChatBlocked, parse_update

CHAT = 5550177


def user(**extra: Any) -> dict[str, Any]:
    return {"id": CHAT, "is_bot": False, "first_name": "Sam", "language_code": "en", **extra}


def message(**fields: Any) -> dict[str, Any]:
    return {
        "message_id": 41,
        "from": user(),
        "chat": {"id": CHAT, "first_name": "Sam", "type": "private"},
        "date": 1772463600,
        **fields,
    }


def update(kind: str = "message", update_id: int = 900, **fields: Any) -> dict[str, Any]:
    return {"update_id": update_id, kind: message(**fields)}


PHOTO = [
    {
        "file_id": "AgAC-small",
        "file_unique_id": "AQAD-s",
        "file_size": 1140,
        "width": 90,
        "height": 51,
    },
    {
        "file_id": "AgAC-big",
        "file_unique_id": "AQAD-b",
        "file_size": 104737,
        "width": 1280,
        "height": 720,
    },
]
VOICE = {
    "duration": 3,
    "mime_type": "audio/ogg",
    "file_id": "AwAC",
    "file_unique_id": "AgAD",
    "file_size": 4288,
}
VIDEO = {"duration": 1, "width": 360, "height": 640, "file_id": "BAAC", "file_unique_id": "AgAE"}
DOCUMENT = {
    "file_name": "notes.pdf",
    "mime_type": "application/pdf",
    "file_id": "BQAC",
    "file_unique_id": "AgAF",
}
STICKER = {
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
    "type": "regular",
    "file_id": "CAAC",
    "file_unique_id": "AgAG",
}
VIDEO_NOTE = {"duration": 2, "length": 240, "file_id": "DQAC", "file_unique_id": "AgAH"}
LOCATION = {"latitude": 40.7, "longitude": -74.0}


def read(payload: dict[str, Any]) -> InboundMessage:
    found = parse_update(payload)
    assert isinstance(found, InboundMessage), found
    return found


def test_a_caption_is_the_words_of_a_photo_video_voice_note_or_document() -> None:
    for kind, media in [
        ("photo", PHOTO),
        ("video", VIDEO),
        ("voice", VOICE),
        ("document", DOCUMENT),
    ]:
        got = read(update(**{kind: media, "caption": "he is not breathing"}))
        assert (got.text, got.media, got.address) == ("he is not breathing", kind, str(CHAT))


@pytest.mark.parametrize(
    ("kind", "media"),
    [
        ("photo", PHOTO),
        ("voice", VOICE),
        ("video", VIDEO),
        ("video_note", VIDEO_NOTE),
        ("document", DOCUMENT),
        ("sticker", STICKER),
        ("location", LOCATION),
    ],
)
def test_media_without_words_is_a_message_with_empty_text(kind: str, media: Any) -> None:
    got = read(update(**{kind: media}))
    assert (got.text, got.media, got.edited) == ("", kind, False)


def test_an_edited_message_is_marked_as_an_edit() -> None:
    got = read(update("edited_message", text="he is not breathing", edit_date=1772463700))
    assert (got.text, got.edited) == ("he is not breathing", True)


def test_a_block_opts_out_and_an_unblock_waits_for_start() -> None:
    def member(status: str) -> dict[str, Any]:
        bot = {"id": 4242, "is_bot": True, "first_name": "craftbot", "username": "craftbot_bot"}
        return {
            "update_id": 901,
            "my_chat_member": {
                "chat": {"id": CHAT, "first_name": "Sam", "type": "private"},
                "from": user(),
                "date": 1772463600,
                "old_chat_member": {"user": bot, "status": "member"},
                "new_chat_member": {"user": bot, "status": status, "until_date": 0}
                if status == "kicked"
                else {"user": bot, "status": status},
            },
        }

    assert parse_update(member("kicked")) == ChatBlocked(str(CHAT), 901)
    assert parse_update(member("member")) is None


# Recorded by other gateways: users and chats without fields today's Telegram always sends.
OLD_USER = {"id": CHAT, "first_name": "Sam", "last_name": "Doe", "username": "samdoe"}


def recorded(**fields: Any) -> dict[str, Any]:
    return {
        "update_id": 174114370,
        "message": {
            "message_id": 41,
            "from": OLD_USER,
            "chat": {"id": CHAT, "first_name": "Sam", "type": "private"},
            "date": 1454119029,
            **fields,
        },
    }


@pytest.mark.parametrize(
    ("payload", "text", "media"),
    [
        (recorded(text="Hello World"), "Hello World", None),
        (recorded(text="/start"), "/start", None),
        (recorded(photo=PHOTO, caption="he is not breathing"), "he is not breathing", "photo"),
        (recorded(voice={"duration": 1, "mime_type": "audio/ogg", "file_id": "x"}), "", "voice"),
    ],
    ids=["text", "start", "captioned photo", "voice"],
)
def test_an_update_the_library_refuses_is_read_field_by_field(
    payload: dict[str, Any], text: str, media: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    got = read(payload)
    assert (got.text, got.media, got.provider_id) == (text, media, "174114370")
    assert "refused its shape (TypeError)" in caplog.text
    assert "Hello" not in caplog.text and str(CHAT) not in caplog.text  # nothing personal logged


@pytest.mark.parametrize(
    "payload",
    [
        update("channel_post", text="news"),
        update("edited_channel_post", text="news"),
        {"update_id": 7, "callback_query": {"id": "1", "from": user(), "chat_instance": "1"}},
        {"update_id": 7, "message_reaction": {"chat": {"id": CHAT, "type": "private"}}},
        {"update_id": 7, "poll": {"id": "1"}},
        {"update_id": 7},
        {"update_id": 7, "message": "nope"},
        {"update_id": 7, "message": {"chat": 5}},
        {"update_id": 7, "message": []},
        {"update_id": 7, "message": {"chat": {"id": "5", "type": "private"}, "text": "id as text"}},
        {"update_id": 7, "message": {"chat": {"id": True, "type": "private"}, "text": "bool id"}},
        {"update_id": 7, "my_chat_member": "nope"},
        update(text=123),
        update(text=None),
        update(text=["a"]),
        update(pinned_message={"message_id": 1}),
        update(new_chat_title="Family"),
    ],
)
def test_updates_with_nothing_a_family_wrote_give_nothing(payload: dict[str, Any]) -> None:
    assert parse_update(payload) is None


def test_a_group_message_is_not_a_family_writing() -> None:
    group = update(text="hello all")
    group["message"]["chat"] = {"id": -100, "type": "group", "title": "Family"}
    assert parse_update(group) is None


def test_hostile_values_are_read_or_ignored_never_raised() -> None:
    huge = update(update_id=10**30, text="hi")
    huge["message"]["chat"]["id"] = 10**25
    assert read(huge).address == str(10**25)
    assert read(update(date=10**30, text="far future")).text == "far future"
    assert read(update(date=2**62, text="further")).text == "further"  # EOVERFLOW, not Overflow
    nul = read(update(text="he is not breathing\x00"))
    assert nul.text == "he is not breathing"
    raw = json.dumps({"update_id": 1, "message": message(text="a\ud800b")})
    assert "\\ud800" in raw  # JSON's own escape, as a client that sends lone surrogates writes it
    lone = read(json.loads(raw))
    assert lone.text == "a\ufffdb"
    deep: Any = {"text": "deep"}
    for _ in range(5000):
        deep = {"reply_to_message": deep}
    assert parse_update({"update_id": 2, "message": {**message(text="top"), **deep}}) is not None
