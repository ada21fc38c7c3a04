"""Email through SendGrid: the outbound adapter (sendgrid SDK off the loop) and Inbound Parse
reading."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import json
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage, MIMEPart
from email.parser import HeaderParser
from email.utils import parseaddr
from typing import Any, cast

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Header,
    Mail,
    PlainTextContent,
    Subject,
    To,
)

from bot.channels.base import Attachment as FileToSend
from bot.channels.base import ChannelName, InboundMessage, OutboundMessage, SendOutcome, SendResult
from bot.channels.email_text import html_to_text, strip_reply
from bot.channels.twilio_sms import parse_retry_after

DEFAULT_API_BASE_URL = "https://api.sendgrid.com"
# Mail that answers itself (out-of-office, list bounces) must never be read as a reply.
_AUTOMATED_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
MAX_ADDRESS = 254  # the longest address SMTP carries (RFC 5321 with its errata)
_REPLY_PREFIXES = ("re:", "fw:", "fwd:", "aw:", "rv:", "res:")


PICTURE_NAME = "four-weeks.png"


class SendGridEmail:
    """Sends plain-text email with the sendgrid SDK, on a small thread pool (the SDK blocks)."""

    name: ChannelName = "email"

    def __init__(
        self,
        api_key: str,
        from_email: str,
        *,
        org_name: str,
        org_postal_address: str,
        api_base_url: str = DEFAULT_API_BASE_URL,
        timeout_s: float = 10.0,
        default_subject: str | None = None,
        max_workers: int = 16,
    ) -> None:
        if not api_key or not from_email:
            raise ValueError(
                "SendGridEmail needs an API key and a from address; got api_key "
                f"set={bool(api_key)}, "
                f"from_email={from_email!r}."
            )
        self._from = From(from_email, org_name)
        self._org_name = org_name
        self._postal = org_postal_address
        self._default_subject = default_subject or f"A note from {org_name}"
        self._sg = SendGridAPIClient(api_key, host=api_base_url.rstrip("/"))
        self._sg.client.timeout = timeout_s  # urllib has no timeout by default
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="sendgrid")

    def footer(self, unsubscribe_url: str | None, words: str | None = None) -> str:
        """The signature, the postal address and the unsubscribe link after `words` (the
        family's language, from the dispatcher; English when a caller gives none)."""
        lines = ["-- ", self._org_name, self._postal]
        if unsubscribe_url:
            lines.append(f"{words or 'To stop these emails:'} {unsubscribe_url}")
        return "\n".join(lines)

    def build_mail(self, message: OutboundMessage) -> Mail:
        """The Mail the SDK posts: text plus footer, one-click unsubscribe headers, the outbox
        id."""
        mail = Mail(
            from_email=self._from,
            to_emails=To(message.address),
            subject=Subject(message.subject or self._default_subject),
            plain_text_content=PlainTextContent(
                f"{message.text}\n\n"
                f"{self.footer(message.unsubscribe_url, message.unsubscribe_words)}"
            ),
        )
        for key, value in message.headers.items():
            mail.add_header(Header(key, value))
        if message.unsubscribe_url:
            mail.add_header(Header("List-Unsubscribe", f"<{message.unsubscribe_url}>"))
            mail.add_header(Header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        mail.add_custom_arg(CustomArg("outbox_id", str(message.id)))
        files = [message.attachment] if message.attachment is not None else []
        if message.picture:  # the weekly summary's calendar, named for no one
            files.append(FileToSend(PICTURE_NAME, "image/png", message.picture))
        for file in files:  # SendGrid's attachments: base64 content, a file name
            mail.add_attachment(
                Attachment(
                    FileContent(base64.b64encode(file.content).decode("ascii")),
                    FileName(file.name),
                    FileType(file.media_type),
                    Disposition("attachment"),
                )
            )
        return mail

    def _post(self, mail: Mail) -> Any:
        return self._sg.send(mail)

    async def send(self, message: OutboundMessage) -> SendResult:
        mail = self.build_mail(message)
        loop = asyncio.get_running_loop()
        try:
            response = await loop.run_in_executor(self._pool, self._post, mail)
        except HTTPError as exc:
            return classify_sendgrid_error(exc)
        except TimeoutError as exc:
            return SendResult(
                SendOutcome.RETRY, detail=f"SendGrid did not answer in time: {exc!r}."
            )
        except OSError as exc:  # URLError, refused or reset connections
            return SendResult(SendOutcome.RETRY, detail=f"Could not reach SendGrid: {exc!r}.")
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        return SendResult(SendOutcome.SENT, provider_id=message_id)

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    seconds = parse_retry_after(headers.get("Retry-After"))
    if seconds is not None:
        return seconds
    reset = headers.get("X-RateLimit-Reset")  # SendGrid's own: epoch seconds when the limit resets
    try:
        return max(0.0, float(reset) - time.time()) if reset else None
    except ValueError:
        return None


def classify_sendgrid_error(exc: HTTPError) -> SendResult:
    """Map a SendGrid HTTP error to a send outcome."""
    status = int(getattr(exc, "status_code", 0) or 0)
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body)
    detail = f"SendGrid answered HTTP {status}: {body[:300]}"
    if status in (401, 403):
        return SendResult(SendOutcome.MISCONFIGURED, detail=detail)
    if status == 400:
        try:
            fields = [str(e.get("field") or "") for e in json.loads(body).get("errors", [])]
        except (ValueError, AttributeError):
            fields = []
        if any(f.startswith("from") for f in fields):
            return SendResult(SendOutcome.MISCONFIGURED, detail=detail)
        return SendResult(SendOutcome.INVALID_ADDRESS, detail=detail)
    if 400 <= status < 500 and status not in (408, 429):
        # 413 too large and any other refusal of this request: it would fail the same way again
        return SendResult(SendOutcome.REJECTED, detail=detail)
    # 408, 429, 5xx: transient; the dispatcher's attempt limit ends one that never passes
    return SendResult(SendOutcome.RETRY, retry_after_s=_retry_after(exc.headers), detail=detail)


def _is_automated(headers: Mapping[str, Any]) -> bool:
    auto = str(headers.get("Auto-Submitted") or "no").strip().lower()
    precedence = str(headers.get("Precedence") or "").strip().lower()
    return (
        auto != "no"
        or precedence in _AUTOMATED_PRECEDENCE
        or bool(headers.get("X-Autoreply") or headers.get("X-Autorespond"))
    )


def _raw_body(raw: str) -> tuple[str, Any, bool]:
    """The words, the headers and whether anything is attached, from a raw-mode MIME message."""
    parsed = cast(EmailMessage, email.message_from_string(raw, policy=email.policy.default))
    attached = any(True for _ in parsed.iter_attachments()) if parsed.is_multipart() else False
    part = parsed.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", parsed, attached
    content = _part_text(part)
    body = html_to_text(content) if part.get_content_subtype() == "html" else content
    return body, parsed, attached


def _part_text(part: MIMEPart) -> str:
    """A text part's words, whatever charset it names. Real mail says "unknown-8bit", misspells
    charsets, or names a codec that is not a text encoding ("hex"): the standard library then
    raises instead of decoding, and a family's message must still be read (crisis words first),
    so the bytes are read as UTF-8, and anything that is not UTF-8 replaced."""
    try:
        return str(part.get_content())
    except (LookupError, ValueError, TypeError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _text(form: Mapping[str, Any], name: str) -> str:
    # A part posted as a file is no field of ours; Inbound Parse posts its fields as text.
    value = form.get(name)
    return value if isinstance(value, str) else ""


def own_subject(subject: str) -> str:
    """The subject's words when the family wrote them, "" for a reply or forward of ours.

    A reply's subject is our own ("Re: A note from Family Support"), and ours may name a hard
    topic, so only a subject the person wrote is read for what they say.
    """
    subject = " ".join(subject.split())
    return "" if subject.lower().startswith(_REPLY_PREFIXES) else subject


def parse_inbound_email(form: Mapping[str, Any]) -> InboundMessage | None:
    """The family member's new words from a SendGrid Inbound Parse post, or None.

    Uses the text part (else the HTML, else a raw-mode `email` field), strips the quoted thread
    and signature, and takes Message-ID from the headers as the dedupe key. A subject the person
    wrote is kept beside the words (crisis words there count); with no words it is the words.
    Attachments without words give `media` "attachment". Auto-replies, and mail with nothing in
    it, give None. Raises ValueError when `from` holds no address (its message names no value).
    """
    address = parseaddr(_text(form, "from"))[1].strip().lower()
    if "@" not in address or len(address) > MAX_ADDRESS:
        raise ValueError("An inbound email needs a sender address in 'from'.")
    headers: Any = HeaderParser(policy=email.policy.default).parsestr(_text(form, "headers"))
    subject = _text(form, "subject")
    attached = _text(form, "attachments").strip() not in ("", "0")
    if _text(form, "text"):
        body = _text(form, "text")
    elif _text(form, "html"):
        body = html_to_text(_text(form, "html"))
    elif _text(form, "email"):
        body, headers, attached = _raw_body(_text(form, "email"))
        subject = subject or str(headers.get("Subject") or "")
    else:
        body = ""
    if _is_automated(headers):
        return None
    text, said = strip_reply(body), own_subject(subject)
    if not text:
        text, said = said, ""  # someone who wrote only a subject line still said something
    if not text and not attached:
        return None
    message_id = str(headers.get("Message-ID") or "").strip()
    if not message_id:
        # The whole header block too (Received lines, Date): SendGrid's retry posts the same
        # one, while the same words sent again another day come with their own.
        raw_headers = _text(form, "headers") or _text(form, "email").partition("\n\n")[0]
        seen = f"{address}\n{raw_headers}\n{subject}\n{body}".encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(seen).hexdigest()
        message_id = f"sha256:{digest}"
    return InboundMessage(
        channel="email",
        address=address,
        text=text,
        provider_id=message_id,
        subject=said,
        media="attachment" if attached and not text else None,
    )
