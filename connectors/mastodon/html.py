"""Mastodon status HTML to plain text: mentions as @user@host, links as their URL, emoji as :shortcode:."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from agentconsole.domain.sanitize import clean

_BLOCKS = {"p", "div", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"}
# Contents of these never reach the reader; a hostile remote server could send them.
_DROPPED = {"script", "style", "template", "noscript", "iframe", "object", "svg", "math", "head", "title"}
_VOID = {"br", "img", "hr", "input", "meta", "link", "area", "base", "col", "embed", "source", "wbr"}


def full_acct(acct: str, local_host: str) -> str:
    """A Mastodon acct ("user" for local accounts, "user@host" for remote ones) as user@host."""
    acct = acct.lstrip("@")
    if "@" in acct or not local_host:
        return acct
    return f"{acct}@{local_host}"


class _Converter(HTMLParser):
    def __init__(self, mentions: dict[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.mentions = mentions
        self.out: list[str] = []
        self.dropped = 0
        self.link: tuple[str, str, list[str]] | None = None  # (href, class, collected text)

    def _emit(self, text: str) -> None:
        if self.link is not None:
            self.link[2].append(text)
        else:
            self.out.append(text)

    def _newlines(self, count: int) -> None:
        if self.link is not None:
            return
        tail = "".join(self.out[-2:])
        if not self.out:
            return
        have = len(tail) - len(tail.rstrip("\n"))
        if have < count:
            self.out.append("\n" * (count - have))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            if tag not in _VOID:
                self.dropped += 1
            return
        if self.dropped:
            return
        attr = {k: v or "" for k, v in attrs}
        if tag == "br":
            self._emit("\n")
        elif tag in _BLOCKS:
            self._newlines(2)
        elif tag == "li":
            self._newlines(1)
            self._emit("- ")
        elif tag == "img":
            # Custom emoji from some servers arrive as <img class="emoji" alt=":shortcode:">.
            alt = attr.get("alt", "")
            if alt:
                self._emit(alt)
        elif tag == "a" and self.link is None:
            self.link = (attr.get("href", ""), attr.get("class", ""), [])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED or self.dropped:
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.dropped = max(0, self.dropped - 1)
            return
        if self.dropped:
            return
        if tag == "a" and self.link is not None:
            href, classes, parts = self.link
            self.link = None
            self.out.append(self._link_text(href, classes.split(), "".join(parts)))
        elif tag in _BLOCKS or tag == "li":
            self._newlines(2 if tag in _BLOCKS else 1)

    def handle_data(self, data: str) -> None:
        if not self.dropped:
            self._emit(data)

    def _link_text(self, href: str, classes: list[str], text: str) -> str:
        if "mention" in classes and "hashtag" not in classes:
            acct = self.mentions.get(href)
            if acct:
                return "@" + acct
            host = urlsplit(href).hostname or ""
            name = text.strip().lstrip("@")
            return "@" + full_acct(name, host) if name else text
        if "hashtag" in classes or text.strip().startswith("#"):
            return text
        # Mastodon shortens link text with invisible spans; the reader gets the real target.
        shown = text.strip()
        if not href or shown == href or href.startswith(("http://", "https://")) and (
                shown.startswith(("http", "www.")) or not shown):
            return href or shown
        return f"{shown} ({href})" if shown else href


def html_to_text(html: str | None, mentions: list[dict[str, Any]] | None = None, local_host: str = "") -> str:
    """Plain text for a status' HTML *content*; *mentions* is the status' mentions[] list.

    The result is NOT yet sanitised: charrefs are decoded here (&#27; becomes a real ESC), so
    callers pass it through sanitize.clean afterwards, as status_text() does.
    """
    if not html:
        return ""
    table = {}
    for mention in mentions or []:
        url, acct = mention.get("url"), mention.get("acct")
        if url and acct:
            table[url] = full_acct(acct, local_host)
    parser = _Converter(table)
    parser.feed(html)
    parser.close()
    if parser.link is not None:  # unclosed <a>: keep what it held
        parser.out.append("".join(parser.link[2]))
    text = "".join(parser.out)
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n ")


def status_text(status: dict[str, Any], local_host: str = "") -> str:
    """A status as the inbox shows it: the content warning first, then the text, sanitised."""
    body = html_to_text(status.get("content"), status.get("mentions"), local_host)
    warning = (status.get("spoiler_text") or "").strip()
    if warning:
        body = f"CW: {warning}\n\n{body}" if body else f"CW: {warning}"
    return clean(body)
