"""Reading an inbound e-mail (RFC 5322 / MIME) that nobody can trust: what the case keeps of it.

``parse`` never raises on odd input except ``BadMail`` (empty, over the size limit, no headers): the
standard library's parser is lenient, and everything taken from the mail is bounded and cleaned here —

- headers: decoded (RFC 2047), control characters and line breaks removed (no header injection into the
  history, the audit log or a later e-mail), cut to a length;
- the text: the ``text/plain`` part, else the ``text/html`` part turned into plain text (tags dropped,
  scripts and styles with their content, entities decoded; it is never rendered), in its declared charset
  with a fallback, quoted reply text (``> …`` lines and the "On … wrote:" block below them) stripped;
- attachments: parts with a file name or ``Content-Disposition: attachment``, decoded (base64,
  quoted-printable); a forwarded message (``message/rfc822``) is an attachment too, never opened;
- a bound on the parts looked at and on the nesting depth, so a crafted mail costs little.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser

MAX_PARTS = 200
MAX_DEPTH = 8
MAX_TEXT = 20_000
MAX_SUBJECT = 200

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINEBREAKS = re.compile(r"[\r\n\t\x0b\x0c\x85\u2028\u2029]+")
_ADDRESS = re.compile(r"[^\s<>@\"(),;:\[\]\\]{1,64}@[A-Za-z0-9.-]{1,255}")
_QUOTE_HEADER = re.compile(
    r"^\s*(am|on|le|el|il|op)\b.{0,200}\b(schrieb|wrote|a écrit|escribió|ha scritto|schreef)\b.*:\s*$",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|weitergeleitete nachricht).*$",
                       re.IGNORECASE)  # fmt: skip


class BadMail(Exception):
    """The input is no e-mail dikom can read (empty, too large, no headers)."""


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    content: bytes


@dataclass
class ParsedMail:
    message_id: str
    sender: str
    subject: str
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    skipped: int = 0  # parts beyond MAX_PARTS / MAX_DEPTH, not looked at
    recipients: list[str] = field(default_factory=list)
    digest: str = ""


def _unescaped(text: str) -> str:
    """Undo the parser's surrogate escapes of raw 8-bit header bytes (UTF-8, else Windows-1252/Latin-1):
    lone surrogates cannot be stored in a database or JSON."""
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def one_line(value: object, limit: int) -> str:
    """A header value as one clean line: decoded, no control characters or line breaks, at most ``limit``."""
    text = _unescaped(str(value or ""))
    text = _LINEBREAKS.sub(" ", text)
    text = _CONTROL.sub("", text)
    return " ".join(text.split())[:limit]


_ESCAPED = re.compile("[\udc80-\udcff]")


def _header(message: Message, name: str) -> str:
    raw = next((str(v) for k, v in message.raw_items() if k.lower() == name.lower()), None)
    if raw is None:
        return ""
    if _ESCAPED.search(raw):  # raw 8-bit bytes, not RFC 2047: decoding would replace them; read them here
        return _unescaped(raw)
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except (ValueError, TypeError, IndexError, AttributeError, LookupError):  # a header it cannot decode
        return raw.encode("ascii", "replace").decode("ascii")


def _addresses(message: Message, *names: str) -> list[str]:
    found: list[str] = []
    for name in names:
        try:
            values = message.get_all(name, failobj=[])
        except (ValueError, TypeError, IndexError, AttributeError):
            values = []
        for value in values:
            for address in _ADDRESS.findall(_CONTROL.sub("", _unescaped(str(value)))):
                if address.lower() not in found:
                    found.append(address.lower())
    return found


class _TextOfHTML(HTMLParser):
    """Plain text of an HTML body: block elements become line breaks; scripts, styles and heads are dropped."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table",
                        "ul", "ol", "pre", "hr"})  # fmt: skip
    HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag == "blockquote":
            self.quoted += 1  # a quoted earlier mail: left out like "> " lines
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1
        elif tag == "blockquote" and self.quoted:
            self.quoted -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden and not self.quoted:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextOfHTML()
    try:
        parser.feed(markup[: MAX_TEXT * 10])
        parser.close()
    except Exception:  # HTMLParser is lenient; anything it still refuses: tags dropped roughly
        markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", markup)
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return "\n".join(lines)


def strip_quoted(text: str) -> str:
    """The new text of a reply: without ``> `` lines, the "On … wrote:" line and anything below an original."""
    kept: list[str] = []
    for line in text.splitlines():
        if _ORIGINAL.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    while kept and _QUOTE_HEADER.match(kept[-1] or ""):
        kept.pop()
    while kept and not kept[-1].strip():
        kept.pop()
    # Drop a quote header followed only by blank lines at the end (quoted lines already gone).
    for index in range(len(kept) - 1, -1, -1):
        if _QUOTE_HEADER.match(kept[index]) and not any(rest.strip() for rest in kept[index + 1 :]):
            kept = kept[:index]
            break
    result = "\n".join(kept).strip()
    result = re.sub(r"\n{3,}", "\n\n", result)
    return result or text.strip()


def _decoded_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return payload.decode("latin-1", errors="replace")


def _file_name(part: Message) -> str:
    try:
        name = part.get_filename()
    except (ValueError, TypeError, IndexError, AttributeError):
        name = None
    return one_line(name, 150) if name else ""


def _walk(message: Message, depth: int, budget: list[int]) -> list[tuple[Message, bool]]:
    """(part, is_attachment) of the leaves, depth-first, within the budget of parts; message/rfc822 not opened."""
    leaves: list[tuple[Message, bool]] = []
    for part in message.get_payload() if message.is_multipart() else []:
        if not isinstance(part, Message):
            continue
        if budget[0] <= 0 or depth >= MAX_DEPTH:
            budget[1] += 1
            continue
        budget[0] -= 1
        kind = part.get_content_type()
        if kind == "message/rfc822" or (part.is_multipart() and kind.startswith("message/")):
            leaves.append((part, True))
        elif part.is_multipart():
            leaves.extend(_walk(part, depth + 1, budget))
        else:
            disposition = (part.get_content_disposition() or "").lower()
            leaves.append((part, disposition == "attachment" or bool(_file_name(part))))
    return leaves


def _attachment(part: Message, index: int) -> Attachment:
    kind = part.get_content_type()
    if kind == "message/rfc822" or part.is_multipart():
        body = part.as_bytes() if hasattr(part, "as_bytes") else b""
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            body = inner[0].as_bytes()
        return Attachment(_file_name(part) or f"nachricht-{index}.eml", "message/rfc822", body)
    payload = part.get_payload(decode=True)
    return Attachment(_file_name(part) or f"anhang-{index}", kind, payload if isinstance(payload, bytes) else b"")


def parse(raw: bytes, *, max_bytes: int) -> ParsedMail:
    """Read ``raw`` (one RFC 5322 message as received); ``BadMail`` when it is empty, too large or no mail."""
    if len(raw) > max_bytes:
        raise BadMail("too-large")
    if not raw.strip():
        raise BadMail("empty")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the parser is lenient; whatever it still refuses is bad data
        raise BadMail("unparseable") from exc
    if not message.keys():
        raise BadMail("no-headers")
    if not _header(message, "From") and not _header(message, "Subject"):
        raise BadMail("no-headers")  # text that only looks like headers (e.g. "hello: world") is no mail
    try:
        return _read(message, raw)
    except Exception as exc:  # the email package's own errors on a part it cannot decode: the mail is bad data
        raise BadMail("unreadable") from exc


def _read(message: Message, raw: bytes) -> ParsedMail:
    budget = [MAX_PARTS, 0]
    leaves = _walk(message, 0, budget) if message.is_multipart() else [(message, False)]
    plain, markup = "", ""
    attachments: list[Attachment] = []
    for part, is_attachment in leaves:
        kind = part.get_content_type()
        if not is_attachment and kind == "text/plain" and not plain:
            plain = _decoded_text(part)
        elif not is_attachment and kind == "text/html" and not markup:
            markup = _decoded_text(part)
        elif is_attachment or not kind.startswith(("text/", "multipart/")):
            attachments.append(_attachment(part, len(attachments) + 1))
    text = plain if plain.strip() else html_to_text(markup)
    text = _CONTROL.sub("", text[: MAX_TEXT * 5].replace("\r\n", "\n").replace("\r", "\n"))
    message_id = one_line(_header(message, "Message-ID"), 300).strip("<> ")
    senders = _addresses(message, "From")
    return ParsedMail(
        message_id=message_id,
        sender=senders[0] if senders else "",
        subject=one_line(_header(message, "Subject"), MAX_SUBJECT),
        text=strip_quoted(text)[:MAX_TEXT],
        attachments=attachments,
        skipped=budget[1],
        recipients=_addresses(message, "Delivered-To", "X-Original-To", "To", "Cc"),
        digest=hashlib.sha256(raw).hexdigest(),
    )
