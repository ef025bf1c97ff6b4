"""The canned reply library: validation, TOML import/export, fuzzy search and suggestions, over its storage."""

from __future__ import annotations

from typing import TYPE_CHECKING

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources

import tomli_w

from agentconsole.domain.models import Channel, Kind
from agentconsole.domain.sanitize import INVISIBLE, one_line
from agentconsole.domain.records import CannedFields, CannedRecord
from agentconsole.replies.templates import Filled, TemplateError, fill, parse

if TYPE_CHECKING:
    from agentconsole.storage.canned import CannedStorage
    from agentconsole.storage.store import Store

FORMAT_VERSION = 1
SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}\Z")
_FIELDS = ("shortcut", "name", "body", "tags", "channels", "kinds")
_MAX_BODY = 20_000
# Words that say nothing about which answer fits; kept out of the suggestion query.
_STOPWORDS = frozenset("""
a an and are as at be been but by can could did do does for from had has have hello hey hi how i i'm im
in is it it's its just me my no not of on or our please so that the their them then there they this to
too us was we were what when where which who why will with would you your yours""".split())
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_TYPED_SHORTCUT = re.compile(r"(?:^|(?<=\s))/([a-z0-9][a-z0-9_-]{0,31})\Z")


class CannedError(ValueError):
    """A canned reply that cannot be saved; *template_error* is set when the body is the problem."""

    def __init__(self, message: str, template_error: TemplateError | None = None) -> None:
        super().__init__(message)
        self.template_error = template_error


@dataclass(frozen=True, slots=True)
class CannedDraft:
    """What the agent writes: everything but the usage statistics."""

    shortcut: str
    name: str
    body: str
    tags: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()

    def validated(self) -> CannedDraft:
        """This draft, checked; raises CannedError saying what is wrong (body errors with line/column)."""
        if not SHORTCUT.match(self.shortcut):
            raise CannedError(f"shortcut {self.shortcut!r}: use 1-32 lowercase letters, digits, - or _, "
                              "starting with a letter or digit")
        if not self.name.strip():
            raise CannedError(f"/{self.shortcut}: the name is empty")
        if not self.body.strip():
            raise CannedError(f"/{self.shortcut}: the body is empty")
        if len(self.body) > _MAX_BODY:
            raise CannedError(f"/{self.shortcut}: the body is longer than {_MAX_BODY} characters")
        try:
            parse(self.body)
        except TemplateError as exc:
            raise CannedError(f"/{self.shortcut}: body {exc}", exc) from exc
        for label, values, allowed in (("tag", self.tags, None), ("channel", self.channels, Channel),
                                       ("kind", self.kinds, Kind)):
            if len(set(values)) != len(values):
                raise CannedError(f"/{self.shortcut}: a {label} is listed twice")
            for value in values:
                if not value.strip() or value != value.strip():
                    raise CannedError(f"/{self.shortcut}: {label} {value!r} is blank or padded")
                if allowed is not None and value not in {m.value for m in allowed}:
                    choices = ", ".join(m.value for m in allowed)
                    raise CannedError(f"/{self.shortcut}: unknown {label} {value!r} (one of {choices})")
        return self


@dataclass(frozen=True, slots=True)
class Canned:
    id: int
    shortcut: str
    name: str
    body: str
    tags: tuple[str, ...]
    channels: tuple[str, ...]
    kinds: tuple[str, ...]
    usage_count: int
    last_used_at: float | None

    @property
    def draft(self) -> CannedDraft:
        return CannedDraft(self.shortcut, self.name, self.body, self.tags, self.channels, self.kinds)

    def suits(self, channel: Channel | str | None, kind: Kind | str | None) -> bool:
        """Whether this reply is meant for *channel* / *kind* (an empty list means any)."""
        if channel is not None and self.channels and str(channel) not in self.channels:
            return False
        return kind is None or not self.kinds or str(kind) in self.kinds


@dataclass(frozen=True, slots=True)
class Conflict:
    """An imported reply whose shortcut is already taken by a different one."""

    shortcut: str
    existing_name: str
    incoming_name: str
    differs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportReport:
    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------ TOML files

def loads(text: str) -> list[CannedDraft]:
    """Read a canned replies TOML file; raises CannedError naming the entry and what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CannedError(f"not valid TOML: {exc}") from exc
    unknown = set(data) - {"version", "canned"}
    if unknown:
        raise CannedError(f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise CannedError(f"file format version {data['version']!r} is not {FORMAT_VERSION}")
    entries = data.get("canned", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CannedError("'canned' must be an array of tables ([[canned]])")
    drafts: list[CannedDraft] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, 1):
        shortcut = entry.get("shortcut")
        where = f"entry {number}" + (f" (/{one_line(shortcut, 40)})" if isinstance(shortcut, str) else "")
        extra = set(entry) - set(_FIELDS)
        if extra:
            raise CannedError(f"{where}: unknown key(s) {', '.join(sorted(one_line(str(k), 40) for k in extra))}")
        for key in ("shortcut", "name", "body"):
            if not isinstance(entry.get(key), str):
                raise CannedError(f"{where}: '{key}' must be a string")
            _refuse_controls(where, key, entry[key])
        lists = {}
        for key in ("tags", "channels", "kinds"):
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise CannedError(f"{where}: '{key}' must be a list of strings")
            for item in value:
                _refuse_controls(where, key, item)
            lists[key] = tuple(value)
        draft = CannedDraft(entry["shortcut"], entry["name"], entry["body"], **lists)
        try:
            draft.validated()
        except CannedError as exc:  # its message already names the shortcut
            raise CannedError(f"entry {number}: {exc}", exc.template_error) from exc
        if draft.shortcut in seen:
            raise CannedError(f"{where}: shortcut /{draft.shortcut} appears twice in the file")
        seen.add(draft.shortcut)
        drafts.append(draft)
    return drafts


# Terminal controls (escape sequences, C0 but tab and newline, DEL, C1), lone surrogates and the
# invisible or direction-changing characters the sanitiser strips: none belongs in a reply we send.
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{INVISIBLE}]")


def _refuse_controls(where: str, key: str, value: str) -> None:
    """Raise CannedError naming the entry, the field, the line and the character when *value* has one."""
    found = _CONTROL.search(value.replace("\r\n", "\n"))
    if found is None:
        return
    at = found.start()
    text = value.replace("\r\n", "\n")
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    char = found.group()
    what = "an escape sequence" if char == "\x1b" else "a control or invisible character"
    raise CannedError(f"{where}: '{key}' line {line}, column {column} has {what} (U+{ord(char):04X}); "
                      "canned replies must be plain text")


def dumps(drafts: Iterable[CannedDraft]) -> str:
    """The TOML file for *drafts*: sorted by shortcut, every field written, so loads/dumps round-trips."""
    entries = [
        {"shortcut": d.shortcut, "name": d.name, "body": d.body, "tags": list(d.tags),
         "channels": list(d.channels), "kinds": list(d.kinds)}
        for d in sorted(drafts, key=lambda d: d.shortcut)
    ]
    return tomli_w.dumps({"version": FORMAT_VERSION, "canned": entries}, multiline_strings=True)


def starter_drafts() -> list[CannedDraft]:
    """The starter set shipped with agentconsole."""
    return loads(resources.files("agentconsole.replies").joinpath("canned_starters.toml").read_text("utf-8"))


# ------------------------------------------------------------------------------ ranking

def search(templates: Sequence[Canned], query: str, limit: int = 50) -> list[Canned]:
    """Fuzzy match *query* against shortcut, name, tags and body; the best first.

    A leading '/' means a shortcut. A shortcut starting with the query always beats a fuzzy hit, and
    one- or two-letter queries only match shortcuts and names, since nearly every body contains them.
    """
    q = query.strip().lower()
    by_shortcut = q.startswith("/")
    q = q.lstrip("/").strip()
    if not q:
        return list(templates)[:limit]
    from rapidfuzz import fuzz  # loaded when the picker first searches, not at start-up

    scored: list[tuple[float, int, Canned]] = []
    for order, t in enumerate(templates):
        shortcut = t.shortcut.lower()
        if shortcut.startswith(q):
            score = 200.0 - len(shortcut)
        else:
            score = fuzz.ratio(q, shortcut)
        if not by_shortcut:
            name = t.name.lower()
            score = max(score, 150.0 if name.startswith(q) else fuzz.partial_ratio(q, name))
            if len(q) >= 3:
                score = max(score, fuzz.partial_ratio(q, " ".join(t.tags).lower()) * 0.95,
                            fuzz.partial_token_set_ratio(q, t.body.lower()) * 0.9)
        if score >= 70:
            scored.append((-score, order, t))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [t for _, _, t in scored[:limit]]


def query_words(message: str, limit: int = 32) -> list[str]:
    """The telling words of a customer's message, for the suggestion query."""
    words: list[str] = []
    for word in _WORD.findall(message.lower()):
        word = word.replace("'", "")
        if word not in _STOPWORDS and len(word) > 1 and word not in words:
            words.append(word)
    return words[:limit]


def shortcut_at(text_before_cursor: str) -> tuple[int, str] | None:
    """The `/shortcut` typed just before the cursor (at the start or after a space): (start, name)."""
    match = _TYPED_SHORTCUT.search(text_before_cursor)
    return (match.start(), match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class Expansion:
    """A typed `/shortcut` to replace: text_before_cursor[start:] becomes filled.text."""

    start: int
    canned: Canned
    filled: Filled


# ------------------------------------------------------------------------------ the library

class CannedLibrary:
    """The canned replies in the store; every write validates first."""

    def __init__(self, store: Store, storage: CannedStorage | None = None) -> None:
        self.store = store
        self.storage = storage if storage is not None else store.canned_storage()

    def all(self) -> list[Canned]:
        return [_canned(r) for r in self.storage.all()]

    def get(self, canned_id: int) -> Canned | None:
        found = self.storage.get(canned_id)
        return None if found is None else _canned(found)

    def by_shortcut(self, shortcut: str) -> Canned | None:
        found = self.storage.by_shortcut(shortcut.lstrip("/"))
        return None if found is None else _canned(found)

    def expand(self, text_before_cursor: str, values: Mapping[str, str | None]) -> Expansion | None:
        """The inline expansion for `/shortcut` + tab in the composer, or None if nothing matches."""
        found = shortcut_at(text_before_cursor)
        canned = self.by_shortcut(found[1]) if found else None
        if found is None or canned is None:
            return None
        return Expansion(found[0], canned, fill(canned.body, values))

    def create(self, draft: CannedDraft) -> int:
        draft.validated()
        with self.storage.transaction():
            self._check_free(draft.shortcut, None)
            return self.storage.insert(_fields(draft), self.store.clock.now())

    def update(self, canned_id: int, draft: CannedDraft) -> None:
        draft.validated()
        with self.storage.transaction():
            self._check_free(draft.shortcut, canned_id)
            if not self.storage.update(canned_id, _fields(draft), self.store.clock.now()):
                raise CannedError(f"canned reply {canned_id} no longer exists")

    def duplicate(self, canned_id: int) -> int:
        """A copy named "... (copy)" under the first free shortcut like "sorry-copy", "sorry-copy2"."""
        original = self.get(canned_id)
        if original is None:
            raise CannedError(f"canned reply {canned_id} no longer exists")
        taken = {t.shortcut for t in self.all()}
        base = original.shortcut[:27] + "-copy"
        shortcut, n = base, 1
        while shortcut in taken:
            n += 1
            shortcut = f"{base}{n}"
        d = original.draft
        return self.create(CannedDraft(shortcut, f"{d.name} (copy)", d.body, d.tags, d.channels, d.kinds))

    def delete(self, canned_id: int) -> None:
        self.storage.delete(canned_id)

    def record_use(self, canned_id: int) -> None:
        self.storage.record_use(canned_id, self.store.clock.now())

    def _check_free(self, shortcut: str, own_id: int | None) -> None:
        owner = self.storage.by_shortcut(shortcut)
        if owner is not None and owner.id != own_id:
            raise CannedError(f"shortcut /{shortcut} is already used by {owner.name!r}")

    # ------------------------------------------------------------------ import / export

    def export_toml(self) -> str:
        return dumps(t.draft for t in self.all())

    def import_drafts(self, drafts: Sequence[CannedDraft], *, overwrite: bool = False,
                      dry_run: bool = False) -> ImportReport:
        """Add *drafts*; a shortcut taken by a different reply is a conflict, replaced only if *overwrite*.

        Everything happens in one transaction: either the whole report applies or nothing does.
        """
        for draft in drafts:
            draft.validated()
        shortcuts = [d.shortcut for d in drafts]
        if len(set(shortcuts)) != len(shortcuts):
            raise CannedError("a shortcut appears twice among the replies to import")
        added, replaced, unchanged, conflicts = [], [], [], []
        now = self.store.clock.now()
        with self.storage.transaction():
            for draft in drafts:
                row = self.storage.by_shortcut(draft.shortcut)
                if row is None:
                    added.append(draft.shortcut)
                    if not dry_run:
                        self.storage.insert(_fields(draft), now)
                    continue
                existing = _canned(row).draft
                differs = tuple(f for f in _FIELDS if getattr(existing, f) != getattr(draft, f))
                if not differs:
                    unchanged.append(draft.shortcut)
                elif overwrite:
                    replaced.append(draft.shortcut)
                    if not dry_run:
                        self.storage.update(row.id, _fields(draft), now)
                else:
                    conflicts.append(Conflict(draft.shortcut, existing.name, draft.name, differs))
        return ImportReport(tuple(added), tuple(replaced), tuple(unchanged), tuple(conflicts))

    def import_toml(self, text: str, *, overwrite: bool = False, dry_run: bool = False) -> ImportReport:
        return self.import_drafts(loads(text), overwrite=overwrite, dry_run=dry_run)

    def install_starters(self) -> ImportReport:
        """Add the starter set, keeping any reply the agent already has under the same shortcut."""
        return self.import_drafts(starter_drafts())

    # ------------------------------------------------------------------ suggestions

    def suggest(self, message: str, channel: Channel | str | None = None,
                kind: Kind | str | None = None) -> list[Canned]:
        """Every reply suited to *channel*/*kind*, ranked by BM25 similarity to the customer's *message*.

        Replies that share no word with the message follow, most used first.
        """
        suited = [t for t in self.all() if t.suits(channel, kind)]
        ranked = self.storage.ranks(query_words(message))
        return sorted(suited, key=lambda t: (ranked.get(t.id, 0.0), t.id not in ranked,
                                             -t.usage_count, t.shortcut))


def _fields(d: CannedDraft) -> CannedFields:
    return CannedFields(d.shortcut, d.name, d.body, d.tags, d.channels, d.kinds)


def _canned(r: CannedRecord) -> Canned:
    return Canned(*r)
