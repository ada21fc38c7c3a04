"""The aiohttp transport for python-telegram-bot: PTB's request contract.

The send outcomes through it (429, 403, timeouts, network failures) are the adapter's tests, in
tests/test_channel_telegram.py.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import BodyPartReader, web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.channels.telegram import TelegramBot
from bot.channels.telegram_request import AiohttpRequest
from tests.standins.telegram_api import TelegramStandin
from tests.standins.telegram_fixtures import (
    CHAT,  # its fixtures (standin, telegram, bot) come through tests/conftest.py
)


@pytest.fixture
async def request_(telegram: TelegramStandin) -> AsyncIterator[AiohttpRequest]:
    transport = AiohttpRequest(
        read_timeout=0.5, write_timeout=0.5, connect_timeout=0.5, pool_timeout=0.5
    )
    await transport.initialize()
    yield transport
    await transport.shutdown()


def params(**values: object) -> RequestData:
    return RequestData([RequestParameter(name, value, None) for name, value in values.items()])


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_adapter_sends_through_the_aiohttp_transport(bot: TelegramBot) -> None:
    assert isinstance(bot.bot.request, AiohttpRequest)


async def test_do_request_gives_the_status_and_the_raw_body(
    request_: AiohttpRequest, telegram: TelegramStandin
) -> None:
    url = f"{telegram.url}/bot{telegram.token}/sendMessage"
    status, payload = await request_.do_request(url, "POST", params(chat_id=CHAT, text="Hello"))
    assert status == 200 and b'"ok":true' in payload
    # errors are PTB's to read: the transport hands back the 403 and its body
    telegram.block(CHAT)
    status, payload = await request_.do_request(url, "POST", params(chat_id=CHAT, text="Hello"))
    assert status == 403 and b"blocked" in payload


async def test_post_sends_the_parameters_as_one_json_body(
    request_: AiohttpRequest, telegram: TelegramStandin
) -> None:
    url = f"{telegram.url}/bot{telegram.token}/setWebhook"
    ok = await request_.post(
        url, params(url="https://bot.example.org/hook", allowed_updates=["message"])
    )
    assert ok is True
    assert telegram.webhook["url"] == "https://bot.example.org/hook"
    # one JSON body (the Bot API reads it for every method but uploads): the list stays a list
    assert telegram.webhook["allowed_updates"] == ["message"]


async def test_a_file_goes_as_multipart_with_the_other_fields() -> None:
    # given a server that reads multipart bodies (the stand-in keeps only text fields), and a
    # request that carries a file besides its fields
    parts: dict[str, tuple[str | None, bytes]] = {}

    async def echo(request: web.Request) -> web.Response:
        reader = await request.multipart()
        async for part in reader:
            assert isinstance(part, BodyPartReader)
            parts[str(part.name)] = (part.filename, await part.read())
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/bot1:x/sendDocument", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    upload = InputFile(b"a small note", filename="note.txt")
    data = RequestData(
        [
            RequestParameter("chat_id", CHAT, None),
            RequestParameter("caption", "For you", None),
            RequestParameter("document", None, [upload]),
        ]
    )
    transport = AiohttpRequest()
    try:
        async with transport:
            # when
            status, _ = await transport.do_request(
                f"http://127.0.0.1:{port}/bot1:x/sendDocument", "POST", data
            )
    finally:
        await runner.cleanup()
    # then
    assert status == 200
    assert parts["chat_id"] == (None, str(CHAT).encode())
    assert parts["caption"] == (None, b"For you")
    assert parts["document"] == ("note.txt", b"a small note")


async def test_a_per_call_read_timeout_overrides_the_default(
    request_: AiohttpRequest, telegram: TelegramStandin
) -> None:
    telegram.hang_next(1, hang_s=0.6)
    with pytest.raises(TimedOut):
        await request_.post(f"{telegram.url}/bot{telegram.token}/getMe", read_timeout=0.1)


async def test_an_unreachable_server_is_a_network_error(request_: AiohttpRequest) -> None:
    with pytest.raises(NetworkError) as caught:
        await request_.post(f"http://127.0.0.1:{unused_port()}/bot1:x/getMe")
    assert not isinstance(caught.value, TimedOut)


async def test_a_request_before_initialize_or_after_shutdown_is_refused(
    telegram: TelegramStandin,
) -> None:
    transport = AiohttpRequest()
    url = f"{telegram.url}/bot{telegram.token}/getMe"
    with pytest.raises(RuntimeError, match="not initialized"):
        await transport.do_request(url, "POST")
    async with transport:
        assert (await transport.do_request(url, "POST"))[0] == 200
    with pytest.raises(RuntimeError, match="not initialized"):
        await transport.do_request(url, "POST")
    await transport.shutdown()  # a second shutdown is harmless


def test_the_default_read_timeout_is_reported_as_given() -> None:
    assert AiohttpRequest(read_timeout=3.5).read_timeout == 3.5
    with pytest.raises(ValueError, match="connection_pool_size"):
        AiohttpRequest(connection_pool_size=0)
