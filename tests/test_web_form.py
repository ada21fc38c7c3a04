"""The web app reads Twilio's urlencoded forms exactly as Starlette's own form parser would."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest
from starlette.requests import Request
from starlette.types import Message

from bot.web.guard import Refused, read_form

URLENCODED = "application/x-www-form-urlencoded; charset=UTF-8"
BODIES = {
    "a Twilio SMS": "Body=no%2C+he+didn%27t+drink+today&From=%2B15550101&MessageSid=SM1&NumMedia=0",
    "accents, emoji and a plus sign": "Body="
    + quote_plus("¿Cómo está? 😊 1+1")
    + "&From=%2B15550102",
    "blank values and a field with no equals sign": "Body=&From=%2B15550103&Flag",
    "a repeated field": "MediaUrl=a&MediaUrl=b&Body=x",
    "raw non-ASCII bytes and a broken escape": "Body=caf\xe9+%E2%28&From=%ZZ",
}


def posted(body: bytes, content_type: str = URLENCODED) -> Request:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(b"content-type", content_type.encode())],
    }
    return Request(scope, receive)


@pytest.mark.parametrize("name", list(BODIES))
async def test_a_urlencoded_form_reads_the_same_as_starlettes(name: str) -> None:
    body = BODIES[name].encode("latin-1")
    # when the same body is read both ways
    ours = (await read_form(posted(body))).multi_items()
    theirs = (await posted(body).form()).multi_items()
    # then the fields, their order and their values agree
    assert ours == theirs and ours


async def test_too_many_fields_is_refused_with_a_400() -> None:
    body = "&".join(f"f{n}=x" for n in range(1001)).encode()
    with pytest.raises(Refused) as refused:
        await read_form(posted(body))
    assert refused.value.code == 400


async def test_other_content_types_go_starlettes_way() -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="Body"\r\n\r\nhi\r\n--b--\r\n'
    form = await read_form(posted(body, "multipart/form-data; boundary=b"))
    assert form.multi_items() == [("Body", "hi")]
