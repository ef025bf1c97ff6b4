"""X's weighted length (twitter-text v3 rules): NFC first, CJK and emoji weigh 2, every URL 23."""

from __future__ import annotations

import re
import unicodedata

from agentconsole.replies.lengths import x_weighted_length

POST_LIMIT = 280
DM_LIMIT = 10_000
# Bare domains count as links on X too ("shop.example/faq"), not only http(s):// and www. ones.
_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|shop|store|"
                  r"app|dev|info|biz|me|ly|gl|us|uk|de|fr|eu)(?:/\S*)?\b")


def weighted_length(text: str) -> int:
    """The count X checks against 280: the NFC form weighed by twitter-text's ranges (the core's
    x_weighted_length), so a decomposed "é" counts as the one character X sees."""
    return x_weighted_length(unicodedata.normalize("NFC", text))


def has_url(text: str) -> bool:
    """Whether X would bill a post of *text* as one "with URL" ($0.20 instead of $0.015)."""
    return bool(_URL.search(text))
