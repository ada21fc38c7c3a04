"""python-telegram-bot's HTTP transport on aiohttp: a `telegram.request.BaseRequest` for
`Bot(request=...)`.

Why: PTB's default HTTPXRequest spends 2.3-4.4 ms of client CPU a message (httpcore's pool
re-scans every connection for every waiting request); aiohttp's pool does the same work in a
fraction of that (docs/performance.md, dispatch_msgs_per_s). Only the transport changes: PTB's
own `BaseRequest.post` still reads the status and the body, so a 429 is still `RetryAfter`, a
403 `Forbidden`, a 400 `BadRequest`, and our errors come out as `TimedOut` or `NetworkError`,
as they do from HTTPXRequest.
"""

from __future__ import annotations

import json

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput, UploadFileDict
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_JSON = {"Content-Type": "application/json"}


def _sum(*parts: float | None) -> float | None:
    # A phase without a limit leaves the whole request without one.
    return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)


def _seconds(given: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(given, DefaultValue) else given


class AiohttpRequest(BaseRequest):
    """Makes the Bot API calls with one pooled `aiohttp.ClientSession`, on the loop that initialised
    it.

    The arguments and their defaults are HTTPXRequest's. aiohttp has no separate write timeout:
    connect and pool bound getting a connection (`connect`, `sock_connect`), read bounds each wait
    for the answer (`sock_read`), and the sum of all four bounds the whole request, so a stalled
    upload cannot hang forever either.
    """

    __slots__ = (
        "_connect",
        "_default_timeout",
        "_media_write",
        "_pool",
        "_pool_size",
        "_read",
        "_session",
        "_write",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError(
                f"connection_pool_size must be at least 1; {connection_pool_size} was given."
            )
        self._pool_size = connection_pool_size
        self._read, self._write = read_timeout, write_timeout
        self._connect, self._pool = connect_timeout, pool_timeout
        self._media_write = media_write_timeout
        self._default_timeout = self._timeout(
            read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    @staticmethod
    def _timeout(
        read: float | None, write: float | None, connect: float | None, pool: float | None
    ) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(
            total=_sum(connect, pool, write, read),
            connect=_sum(connect, pool),
            sock_connect=connect,
            sock_read=read,
        )

    async def initialize(self) -> None:
        # aiohttp binds a session to the running loop, so it is made here, never in __init__.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                timeout=self._default_timeout,
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized: call initialize() first.")
        files = (
            request_data.multipart_data if request_data and request_data.contains_files else None
        )
        body: aiohttp.FormData | bytes | None = None
        headers = None
        if request_data is not None:
            # Multipart only when files go along (as HTTPXRequest). Otherwise one JSON body,
            # which the Bot API takes for every method but uploads: json.dumps of the parameters
            # is C, where urlencoding a lesson's text (quote_plus, a Python call a character)
            # cost about 0.1 ms a message.
            if files:
                body = self._multipart(request_data.json_parameters, files)
            else:
                parameters = request_data.parameters
                if parameters:
                    payload = json.dumps(parameters, ensure_ascii=False, separators=(",", ":"))
                    body, headers = payload.encode("utf-8"), _JSON
        timeout = self._default_timeout
        if not (
            isinstance(read_timeout, DefaultValue)
            and isinstance(write_timeout, DefaultValue)
            and isinstance(connect_timeout, DefaultValue)
            and isinstance(pool_timeout, DefaultValue)
            and not files
        ):
            timeout = self._timeout(
                _seconds(read_timeout, self._read),
                _seconds(write_timeout, self._media_write if files else self._write),
                _seconds(connect_timeout, self._connect),
                _seconds(pool_timeout, self._pool),
            )
        try:
            async with session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # aiohttp's connect and read timeouts are TimeoutErrors too
            raise TimedOut(f"Timed out: aiohttp.{type(err).__name__}: {err}") from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err

    @staticmethod
    def _multipart(fields: dict[str, str], files: UploadFileDict) -> aiohttp.FormData:
        form = aiohttp.FormData()
        for name, value in fields.items():
            form.add_field(name, value)
        for name, (filename, content, mimetype) in files.items():
            form.add_field(name, content, filename=filename, content_type=mimetype)
        return form
