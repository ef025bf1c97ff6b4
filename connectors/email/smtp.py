"""Composing replies from clean values and submitting them over SMTP with TLS and AUTH."""

from __future__ import annotations

import hashlib
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from agentconsole.domain.clock import to_datetime
from agentconsole.domain.errors import AuthError, ConnectorError, NotSent, OutcomeUnknown, PermanentError
from agentconsole.domain.models import OutboundRequest
from agentconsole.domain.sanitize import one_line

from connectors.email.mime import STAND_IN_DOMAIN, ParsedMail, message_ids
from connectors.email.settings import EmailSettings

# Deliberately narrow: an address we put in a header must be plain printable ASCII with one "@".
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}$")
_RE_PREFIX = re.compile(r"^\s*re\s*:", re.IGNORECASE)
MAX_QUOTE_LINES = 200


def message_id_for(request: OutboundRequest, domain: str) -> str:
    """The Message-ID of the reply for *request*: derived from its idempotency key, so a retry or a
    crash-recovery lookup in Sent finds the same message instead of sending a second one."""
    digest = hashlib.sha256(request.idempotency_key.encode("utf-8")).hexdigest()[:32]
    safe_domain = re.sub(r"[^A-Za-z0-9.-]", "", domain) or "localhost"
    return f"<{digest}.agentconsole@{safe_domain}>"


def header_text(value: str, limit: int = 300) -> str:
    """A single-line header value: no CR, LF or other controls can pass (CVE-2024-6923)."""
    return one_line(value, limit).replace("\r", " ").replace("\n", " ")


def reply_subject(subject: str) -> str:
    subject = header_text(subject) or "(no subject)"
    return subject if _RE_PREFIX.match(subject) else f"Re: {subject}"


def quote_block(parent: ParsedMail) -> str:
    """The customer's message as a "> " quote with an attribution line (for quote = "below")."""
    who = parent.from_name or parent.from_addr or "you"
    when = to_datetime(parent.date).strftime("%Y-%m-%d %H:%M UTC") if parent.date else ""
    lines = parent.text.splitlines()
    quoted = [f"> {line}".rstrip() for line in lines[:MAX_QUOTE_LINES]]
    if len(lines) > MAX_QUOTE_LINES:
        quoted.append("> [...]")
    return (f"On {when}, {who} wrote:" if when else f"{who} wrote:") + "\n" + "\n".join(quoted)


def compose(settings: EmailSettings, request: OutboundRequest, now: float,
            quoted: str = "") -> tuple[EmailMessage, str]:
    """The reply as an EmailMessage and its Message-ID; only validated, cleaned values reach headers."""
    recipient = (request.recipient.external_id if request.recipient else "") or str(
        request.extra.get("to", ""))
    recipient = recipient.strip().lower()
    if not _ADDRESS.match(recipient):
        raise PermanentError(f"cannot send to {header_text(recipient, 80)!r}: not a plain email address")
    if not _ADDRESS.match(settings.address):
        raise PermanentError(f"the account address {settings.address!r} is not a plain email address")
    message_id = message_id_for(request, settings.domain)
    msg = EmailMessage(policy=policy.SMTP)
    local, _, domain = settings.address.partition("@")
    msg["From"] = Address(header_text(settings.display_name, 80), local, domain)
    to_local, _, to_domain = recipient.partition("@")
    name = header_text(request.recipient.display_name, 80) if request.recipient else ""
    msg["To"] = Address(name, to_local, to_domain)
    # Reply-all: only plain addresses, never us or the customer again (the core chose them already).
    copies = [str(a).strip().lower() for a in request.extra.get("cc") or ()]
    copies = list(dict.fromkeys(a for a in copies if _ADDRESS.match(a) and a != recipient
                                and a not in settings.own_addresses))
    if copies:
        msg["Cc"] = ", ".join(copies)
    msg["Subject"] = reply_subject(request.subject or str(request.extra.get("subject", "")))
    msg["Date"] = format_datetime(to_datetime(now))
    msg["Message-ID"] = message_id
    parents = message_ids(request.in_reply_to)
    references = []
    for value in (request.extra.get("references") or ()), (request.thread_key,), parents:
        for item in value:
            references.extend(message_ids(str(item)) if item else [])
    # Stand-in ids of messages that had no Message-ID mean nothing to anyone else: leave them out.
    parents = [p for p in parents if not p.endswith(STAND_IN_DOMAIN)]
    references = list(dict.fromkeys(r for r in references
                                    if r != message_id and not r.endswith(STAND_IN_DOMAIN)))
    if parents:
        msg["In-Reply-To"] = parents[-1]
        # The parent goes last, as RFC 5322 §3.6.4 asks; its own ancestors (root first) before it.
        references = [r for r in references if r != parents[-1]] + [parents[-1]]
    if references:
        msg["References"] = " ".join(references[-20:] if len(references) > 20 else references)
    msg["X-Mailer"] = "agentconsole"
    body = request.text + (f"\n\n{quoted}" if quoted else "")
    msg.set_content(body.replace("\r\n", "\n").replace("\r", "\n"), charset="utf-8")
    return msg, message_id


def _smtp_client(settings: EmailSettings, password: str) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host, port=settings.smtp_port, timeout=settings.timeout,
        use_tls=settings.smtp_tls == "implicit", start_tls=settings.smtp_tls == "starttls",
        tls_context=settings.ssl_context(), username=settings.username, password=password)


@asynccontextmanager
async def smtp_session(settings: EmailSettings, password: str) -> AsyncIterator[aiosmtplib.SMTP]:
    """A connected, TLS-protected, authenticated SMTP client; failures name the step that failed."""
    where = settings.describe("SMTP")
    client = _smtp_client(settings, password)
    try:
        await client.connect()
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise AuthError(f"{where}: login as {settings.username!r} was refused "
                        f"(wrong user name or password?): {exc.code} {_said(exc.message)}") from exc
    except aiosmtplib.SMTPNotSupported as exc:
        raise PermanentError(f"{where}: {_said(str(exc))}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise PermanentError(f"{where}: the server's TLS certificate is not trusted: "
                             f"{exc.verify_message}") from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise _response_error(where, "connect", exc) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:  # refused, DNS, TLS: nothing was sent
        raise NotSent(f"{where}: cannot connect: {_said(str(exc))}") from exc
    try:
        yield client
    finally:
        try:
            await client.quit()
        except Exception:  # the server may already have gone
            client.close()


async def _nothing() -> None:
    return None


async def submit(settings: EmailSettings, password: str, msg: EmailMessage, *,
                 transmitting: Callable[[], Awaitable[None]] = _nothing,
                 accepted: Callable[[], Awaitable[None]] = _nothing) -> None:
    """Submit *msg* step by step, so each failure says whether the message can have left.

    Up to the DATA command nothing of the message has left (a failure is NotSent, or a refusal);
    *transmitting* is awaited right before DATA. A lost connection or a timeout after that is
    OutcomeUnknown: the server may have accepted the message and its "250" been lost. *accepted* is
    awaited the moment the "250" arrives, before anything else (the caller commits it first).
    """
    where = settings.describe("SMTP")
    sender = settings.address
    recipients = [a.addr_spec for a in msg["To"].addresses]
    raw = msg.as_bytes()
    async with smtp_session(settings, password) as client:
        options = ["BODY=8BITMIME"] if client.supports_extension("8BITMIME") and not raw.isascii() else []
        try:
            await client.mail(sender, options=options)
            for recipient in recipients:
                await client.rcpt(recipient)
        except aiosmtplib.SMTPRecipientRefused as exc:
            message = f"{where}: the recipient was refused: {exc.code} {_said(exc.message)}"
            raise (NotSent(message) if 400 <= exc.code < 500 else PermanentError(message)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _response_error(where, "send", exc) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise NotSent(f"{where}: connection lost before the message was sent: {_said(str(exc))}") from exc
        await transmitting()
        try:
            await client.data(raw)
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code < 0:  # no real answer came back
                raise OutcomeUnknown(f"{where}: no answer after the message was sent: "
                                     f"{_said(exc.message)}; it may have been accepted") from exc
            raise _response_error(where, "message", exc) from exc  # the server answered: not taken
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise OutcomeUnknown(f"{where}: no answer after the message was sent "
                                 f"({type(exc).__name__}: {_said(str(exc))}); it may have been accepted") from exc
        await accepted()


def _response_error(where: str, step: str, exc: aiosmtplib.SMTPResponseException) -> ConnectorError:
    text = f"{where}: {step} refused: {exc.code} {_said(exc.message)}"
    if exc.code in (530, 534, 535, 538):
        return AuthError(text)
    # The server answered with a refusal: a 4xx means "not now", and nothing was taken.
    return NotSent(text) if 400 <= exc.code < 500 or exc.code < 0 else PermanentError(text)


def _said(text: str) -> str:
    return " ".join(str(text).split())[:300]


__all__ = ["compose", "header_text", "message_id_for", "quote_block", "reply_subject",
           "smtp_session", "submit"]
