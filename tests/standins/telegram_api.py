"""A local stand-in for the Telegram Bot API, answering as api.telegram.org does."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.standins import Fault, StandinServer, retry_after_header


def tg_error(
    status: int,
    description: str,
    parameters: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status, headers=headers)


class TelegramStandin(StandinServer):
    """`/bot{token}/getMe`, `/sendMessage`, `/getUpdates`, `/setWebhook`, `/deleteWebhook`,
    `/getWebhookInfo`.

    Per-chat behaviours: `block(chat_id)` answers 403 "bot was blocked by the user",
    `forget(chat_id)` answers 400 "chat not found".
    """

    def __init__(self, token: str = "123456:standin-token", latency_s: float = 0.0) -> None:
        super().__init__(latency_s=latency_s)
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self._blocked: set[str] = set()
        self._missing: set[str] = set()
        self._addr_lock = threading.Lock()
        self._message_ids = itertools.count(1)
        self.webhook: dict[str, Any] = {}
        # getUpdates (long polling): updates waiting to be fetched, and the offsets asked for.
        self._updates: list[dict[str, Any]] = []
        self.offsets: list[int | None] = []

    def block(self, chat_id: int | str) -> None:
        with self._addr_lock:
            self._blocked.add(str(chat_id))

    def unblock(self, chat_id: int | str) -> None:
        with self._addr_lock:
            self._blocked.discard(str(chat_id))

    def forget(self, chat_id: int | str) -> None:
        with self._addr_lock:
            self._missing.add(str(chat_id))

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "CraftBot",
            "username": "craftbot_standin_bot",
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def push_update(self, update: dict[str, Any]) -> None:
        """An update for getUpdates to hand out, as Telegram queues one when a person writes."""
        with self._addr_lock:
            self._updates.append(update)

    def pending_updates(self) -> int:
        with self._addr_lock:
            return len(self._updates)

    def reset(self) -> None:
        """Forget records, counters, pending faults and per-address behaviours."""
        super().reset()
        with self._addr_lock:
            self._blocked.clear()
            self._missing.clear()
            self._updates.clear()
        self.webhook = {}
        self.offsets = []

    def routes(self) -> list[Any]:
        return [Route("/bot{token}/{method}", self.api, methods=["GET", "POST"])]

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "throttle":
            seconds = int(retry_after_header(fault.retry_after_s))
            return tg_error(
                429,
                f"Too Many Requests: retry after {seconds}",
                parameters={"retry_after": seconds},
                headers={"Retry-After": str(seconds)},
            )
        if fault.status == 502:
            return tg_error(502, "Bad Gateway")
        return tg_error(fault.status, "Internal Server Error")

    async def _params(self, request: Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query_params)
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.body()
            loaded = json.loads(body) if body else {}
            return loaded if isinstance(loaded, dict) else {}
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    async def api(self, request: Request) -> Response:
        fault = await self.before(request)
        if fault is not None:
            return fault
        if request.path_params["token"] != self.token:
            self._bump("refused")
            return tg_error(401, "Unauthorized")
        method = request.path_params["method"]
        try:
            params = await self._params(request)
        except ValueError:
            return tg_error(400, "Bad Request: can't parse request body")
        if method == "getUpdates":
            return await self._get_updates(params, request)
        if method == "sendPhoto":
            return await self._send_photo(params, request)
        handler = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }.get(method)
        if handler is None:
            return tg_error(404, "Not Found")
        return handler(params)

    async def _get_updates(self, params: dict[str, Any], request: Request) -> Response:
        """Long polling as Telegram does it: an offset confirms every update below it; with none
        waiting, the call waits up to `timeout` seconds for one. A webhook blocks it (409)."""
        if self.webhook.get("url"):
            return tg_error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = int(params["offset"]) if params.get("offset") not in (None, "") else None
        self.offsets.append(offset)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            with self._addr_lock:
                if offset is not None:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                waiting = list(self._updates[: int(params.get("limit") or 100)])
            if waiting or time.monotonic() >= deadline or await request.is_disconnected():
                return JSONResponse({"ok": True, "result": waiting})
            await asyncio.sleep(0.02)

    async def _send_photo(self, params: dict[str, Any], request: Request) -> Response:
        """`sendPhoto` with the photo uploaded as a file (multipart): recorded with its bytes,
        its caption as the message's text."""
        async with request.form() as form:
            upload = form.get("photo")
            photo = await upload.read() if upload is not None and hasattr(upload, "read") else b""
        if not photo:
            self._bump("refused")
            return tg_error(400, "Bad Request: there is no photo in the request")
        chat_id = str(params.get("chat_id", ""))
        with self._addr_lock:
            blocked = chat_id in self._blocked
        if blocked:
            self._bump("refused")
            return tg_error(403, "Forbidden: bot was blocked by the user")
        message_id = next(self._message_ids)
        caption = str(params.get("caption", ""))
        self._record(
            {"message_id": message_id, "chat_id": chat_id, "text": caption, "photo": photo}
        )
        chat = {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id, "type": "private"}
        size = {"file_id": f"photo-{message_id}", "file_unique_id": f"u{message_id}", "width": 800}
        result = {
            "message_id": message_id,
            "from": self.bot_user(),
            "chat": chat,
            "date": int(time.time()),
            "caption": caption,
            "photo": [{**size, "height": 600}],
        }
        return JSONResponse({"ok": True, "result": result})

    def _get_me(self, params: dict[str, Any]) -> Response:
        return JSONResponse({"ok": True, "result": self.bot_user()})

    def _send_message(self, params: dict[str, Any]) -> Response:
        chat_id = str(params.get("chat_id", ""))
        text = str(params.get("text", ""))
        if not chat_id:
            self._bump("refused")
            return tg_error(400, "Bad Request: chat_id is empty")
        if not text.strip():
            self._bump("refused")
            return tg_error(400, "Bad Request: message text is empty")
        with self._addr_lock:
            blocked, missing = chat_id in self._blocked, chat_id in self._missing
        if missing:
            self._bump("refused")
            return tg_error(400, "Bad Request: chat not found")
        if blocked:
            self._bump("refused")
            return tg_error(403, "Forbidden: bot was blocked by the user")
        message_id = next(self._message_ids)
        chat: dict[str, Any] = {
            "id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id,
            "type": "private",
            "first_name": "Family",
        }
        result = {
            "message_id": message_id,
            "from": self.bot_user(),
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        self._record(
            {
                "message_id": message_id,
                "chat_id": chat_id,
                "text": text,
                "parse_mode": params.get("parse_mode"),
            }
        )
        return JSONResponse({"ok": True, "result": result})

    def _set_webhook(self, params: dict[str, Any]) -> Response:
        secret = params.get("secret_token")
        if secret is not None and not (1 <= len(str(secret)) <= 256):
            return tg_error(400, "Bad Request: secret token is invalid")
        self.webhook = {
            "url": params.get("url", ""),
            "secret_token": secret,
            "allowed_updates": params.get("allowed_updates"),
            "drop_pending_updates": params.get("drop_pending_updates"),
        }
        return JSONResponse({"ok": True, "result": True, "description": "Webhook was set"})

    def _delete_webhook(self, params: dict[str, Any]) -> Response:
        self.webhook = {}
        return JSONResponse({"ok": True, "result": True, "description": "Webhook was deleted"})

    def _get_webhook_info(self, params: dict[str, Any]) -> Response:
        info = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        return JSONResponse({"ok": True, "result": info})


def text_update(
    update_id: int,
    chat_id: int,
    text: str,
    first_name: str = "Sam",
    message_id: int = 1,
    date: int | None = None,
) -> dict[str, Any]:
    """An Update with a private text message, as Telegram posts it to a webhook."""
    user = {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": user,
        "chat": {"id": chat_id, "first_name": first_name, "type": "private"},
        "date": date if date is not None else int(time.time()),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    return {"update_id": update_id, "message": message}
