"""Defensive MIME parsing: any bytes become readable, inert text plus a note on what could not be read."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from itertools import islice

import charset_normalizer
import html2text

from agentconsole.domain.sanitize import clean, findings, one_line

STAND_IN_DOMAIN = "@agentconsole.invalid>"  # ends every Message-ID we made up for a message without one
MAX_DEPTH = 20  # deeper multiparts are listed as unreadable rather than walked
MAX_TEXT = 200_000  # characters of body text kept; the raw bytes keep the rest
MAX_HTML = 1_000_000  # bytes of HTML handed to the converter
MAX_BOUNDARIES = 100  # multipart boundary declarations parsed; real mail has a handful
_BOUNDARY = re.compile(rb"(?i)boundary\s*=")
_FOUR_DIGIT_YEAR = re.compile(r"\b(\d{4})\s+\d{1,2}:\d{2}")  # the year right before the time of day
MAX_HEADER = 8_000  # characters of one header handed to the structured parser
# A Message-ID as it may go back out in a header: printable ASCII only, so never CR or LF (CVE-2024-6923).
_MSGID = re.compile(r"<([\x21-\x3b\x3d\x3f-\x7e]{1,900})>")
_SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|sv|antw|vs|wg|tr)\s*(?:\[\d+\])?\s*:\s*|\[[^\]]{0,40}\]\s*)",
                             re.IGNORECASE)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    size: int
    content_type: str


@dataclass(slots=True)
class ParsedMail:
    """What we read from one message; every string is already sanitised."""

    message_id: str = ""  # "<id@host>", or "" when the message has none
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    subject: str = ""
    from_name: str = ""
    from_addr: str = ""
    to_addrs: tuple[str, ...] = ()
    date: float | None = None
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    problems: list[str] = field(default_factory=list)

    @property
    def parse_note(self) -> str:
        if not self.problems:
            return ""
        seen = list(dict.fromkeys(self.problems))
        return "could not be fully read: " + "; ".join(seen)


def raw_id(raw: bytes) -> str:
    """A stable stand-in Message-ID for a message without one: a hash of its bytes."""
    return f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}{STAND_IN_DOMAIN}"


def message_ids(value: str | None) -> list[str]:
    """Every well-formed <id> in a header value, in order, without duplicates."""
    if not value:
        return []
    return list(dict.fromkeys(f"<{m}>" for m in _MSGID.findall(value)))


def normalise_subject(subject: str) -> str:
    """The subject without Re:/Fwd:/[tag] prefixes, case-folded, whitespace collapsed."""
    previous = None
    subject = subject or ""
    while previous != subject:
        previous = subject
        subject = _SUBJECT_PREFIX.sub("", subject, count=1)
    return " ".join(subject.split()).casefold()


def parse(raw: bytes) -> ParsedMail:
    """Parse *raw* into a ParsedMail; never raises: what fails is described in ``problems``."""
    mail = ParsedMail()
    boundaries = [m.start() for m in islice(_BOUNDARY.finditer(raw), MAX_BOUNDARIES + 1)]
    if len(boundaries) > MAX_BOUNDARIES:
        # The stdlib parser needs seconds to fail on thousands of nested multiparts: stop it early.
        mail.problems.append(f"more than {MAX_BOUNDARIES} multipart boundaries; the rest was not read")
        raw = raw[:boundaries[-1]]
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser is lenient, but a crash must still leave a stored message
        mail.problems.append(f"the message structure ({type(exc).__name__})")
        mail.text = clean(raw.decode("utf-8", "replace"))[:MAX_TEXT]
        return mail
    for step, what in ((_read_headers, "the headers"), (_read_body, "the body"),
                       (_note_defects, "the structure")):
        try:
            step(msg, mail)
        except RecursionError:
            mail.problems.append("the parts are nested too deeply")
        except Exception as exc:  # whatever a hostile message trips, the rest is still read
            mail.problems.append(f"{what} ({type(exc).__name__})")
    if not mail.text and not mail.attachments and mail.problems:
        # Nothing readable came out: show the undecoded text so the agent still sees something.
        mail.text = clean(_body_bytes(raw).decode("utf-8", "replace"))[:MAX_TEXT]
    return mail


# ---------------------------------------------------------------- headers

def _header(msg: Message, name: str, mail: ParsedMail) -> str:
    """One header as text; a header the policy cannot parse (or is too long to parse quickly) is
    decoded by hand instead."""
    raw = next((str(v) for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    if raw is None:
        return ""
    if len(raw) > MAX_HEADER:
        # The structured-header parser is slow on huge address lists (seconds for ~100 KB).
        mail.problems.append(f"the {name} header is too long and was cut short")
        return _decode_words(raw[:MAX_HEADER])
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception as exc:
        mail.problems.append(f"the {name} header ({type(exc).__name__})")
    return _decode_words(raw)


def _decode_words(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _read_headers(msg: Message, mail: ParsedMail) -> None:
    ids = message_ids(_header(msg, "Message-ID", mail))
    mail.message_id = ids[0] if ids else ""
    parents = message_ids(_header(msg, "In-Reply-To", mail))
    mail.in_reply_to = parents[-1] if parents else ""
    mail.references = tuple(message_ids(_header(msg, "References", mail)))
    mail.subject = one_line(_header(msg, "Subject", mail), 300)
    sender = _header(msg, "From", mail)
    try:
        name, addr = (getaddresses([sender]) or [("", "")])[0]
    except Exception:
        name, addr = parseaddr(sender)
    mail.from_name = one_line(name, 120)
    mail.from_addr = one_line(addr, 200).lower()
    recipients = [_header(msg, "To", mail), _header(msg, "Cc", mail)]
    try:
        mail.to_addrs = tuple(one_line(a, 200).lower() for _, a in getaddresses(recipients) if a)
    except Exception:
        mail.problems.append("the recipient headers")
    date = _header(msg, "Date", mail)
    if date:
        try:
            when = parsedate_to_datetime(date)
            # The stdlib reads a four-digit year below 100 ("0001") as 19xx/20xx; RFC 5322 has no such
            # year, so it is not a date: the server's date is shown instead, with a note.
            year = _FOUR_DIGIT_YEAR.search(next((str(v) for k, v in msg.raw_items() if k.lower() == "date"), ""))
            if year and when.year != int(year[1]):
                raise ValueError("a year before 100")
            mail.date = when.timestamp()
        except Exception:
            mail.problems.append("the Date header")


# ---------------------------------------------------------------- body

def _read_body(msg: Message, mail: ParsedMail) -> None:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > MAX_DEPTH:
            mail.problems.append(f"parts nested more than {MAX_DEPTH} deep were skipped")
            continue
        ctype = _content_type(part)
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                # Reversed so that the stack pops them in document order.
                stack.extend((child, depth + 1) for child in reversed(children)
                             if isinstance(child, Message))
            continue
        if ctype.startswith("multipart/"):
            # A multipart whose boundary never appears is one undivided string: show it as text.
            payload = part.get_payload()
            plain.append(payload if isinstance(payload, str) else "")
            continue
        filename = _filename(part, mail)
        disposition = _disposition(part)
        if filename or disposition == "attachment" or not (ctype.startswith("text/") or ctype == ""):
            attachments.append(Attachment(filename or f"unnamed ({one_line(ctype, 60) or 'unknown type'})",
                                          _size(part), one_line(ctype, 100)))
            continue
        if ctype == "text/html":
            html.append(_text_of(part, mail))
        else:
            plain.append(_text_of(part, mail))
    if any(p.strip() for p in plain):
        text = "\n\n".join(p for p in plain if p.strip())
    elif html:
        text = "\n\n".join(_html_to_text(h, mail) for h in html)
    else:
        text = "\n\n".join(plain)
    mail.problems.extend(findings(text[:MAX_TEXT]))  # what clean() takes out is said, never silent
    mail.text = clean(text.strip())
    if len(mail.text) > MAX_TEXT:  # said, never silent: the raw message keeps it whole
        mail.problems.append(f"the text, cut to {MAX_TEXT:,} of its {len(mail.text):,} characters")
        mail.text = mail.text[:MAX_TEXT]
    mail.attachments = tuple(attachments)


def _disposition(part: Message) -> str:
    try:
        return part.get_content_disposition() or ""
    except Exception:  # a malformed Content-Disposition header: treat the part as inline
        return ""


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _filename(part: Message, mail: ParsedMail) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        mail.problems.append("an attachment name")
        name = ""
    # Path separators and controls are neutralised: a name is only ever shown, never used as a path.
    return one_line(name.replace("/", "_").replace("\\", "_"), 120) if name else ""


def _size(part: Message) -> int:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return len(data)
    payload = part.get_payload()
    return len(payload) if isinstance(payload, (str, bytes)) else 0


# Decoded text that shows its declared charset was wrong: C1 controls (0x80-0x9f read as ISO-8859-1 are
# almost always windows-125x letters and quotes) or replacement characters the bytes did not contain.
_MISREAD = re.compile("[\x80-\x9f\ufffd]")
MAX_DETECT = 200_000  # bytes handed to charset detection; enough to tell, cheap enough per part


def _text_of(part: Message, mail: ParsedMail) -> str:
    """Decoded text of a leaf part; a declared charset that does not fit the bytes is detected instead,
    with a note; what still cannot be decoded becomes replacement characters."""
    try:
        content = part.get_content()  # type: ignore[attr-defined]  # parsed with policy.default: an EmailMessage, typeshed's Message lacks it
        if isinstance(content, str):
            if _MISREAD.search(content) is None:
                return content
            data = part.get_payload(decode=True)
            if not isinstance(data, bytes) or b"\xef\xbf\xbd" in data:
                return content
            return _detected(data, _charset(part), mail) or content
    except (LookupError, KeyError, ValueError, UnicodeError, AssertionError, TypeError, AttributeError) as exc:
        charset = _charset(part)
        if isinstance(exc, LookupError) and not isinstance(exc, KeyError) and charset:
            mail.problems.append(f"unknown charset {one_line(charset, 40)!r}")
        else:
            mail.problems.append(f"a text part ({type(exc).__name__})")
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    charset = _charset(part) or "utf-8"
    try:
        text = data.decode(charset)
    except (LookupError, ValueError):
        return _detected(data, charset, mail) or data.decode("utf-8", "replace")
    return text if _MISREAD.search(text) is None else (_detected(data, charset, mail) or text)


def _detected(data: bytes, declared: str, mail: ParsedMail) -> str | None:
    """*data* decoded in the charset detection finds (charset-normalizer), with a note; None if none fits."""
    try:
        best = charset_normalizer.from_bytes(data[:MAX_DETECT]).best()
        encoding = best.encoding if best is not None else None
        if not encoding:
            return None
        text = data.decode(encoding, "replace")
    except Exception:  # detection is a best effort; the caller falls back to replacement characters
        return None
    if _MISREAD.search(text) is not None and "\ufffd" not in data.decode("utf-8", "replace"):
        return None  # no better than what was declared
    said = f"declared {one_line(declared, 40)!r}" if declared else "no charset declared"
    mail.problems.append(f"{said} does not fit the text; read as {encoding} by detection")
    return text


def _charset(part: Message) -> str:
    try:
        return part.get_content_charset() or ""
    except Exception:
        return ""


def _html_to_text(html: str, mail: ParsedMail) -> str:
    """Readable text from HTML: script and style dropped, links kept as text, images left out."""
    if len(html) > MAX_HTML:
        mail.problems.append("the HTML body was cut short")
        html = html[:MAX_HTML]
    try:
        converter = html2text.HTML2Text()
        converter.body_width = 0
        converter.ignore_images = True
        converter.ignore_emphasis = True
        converter.unicode_snob = True
        return converter.handle(html)
    except Exception as exc:
        mail.problems.append(f"the HTML body ({type(exc).__name__})")
        without_code = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", html)
        return re.sub(r"<[^>]*>", " ", without_code)


def _body_bytes(raw: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = raw.partition(separator)
        if found:
            return body
    return raw


def _note_defects(msg: Message, mail: ParsedMail) -> None:
    """Name the parser's defects (broken base64, missing boundaries, ...) in plain words."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        for defect in getattr(part, "defects", []) or []:
            words = _CAMEL.sub(" ", type(defect).__name__.removesuffix("Defect")).lower()
            mail.problems.append(words)
        payload = part.get_payload() if part.is_multipart() and depth < MAX_DEPTH else None
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
