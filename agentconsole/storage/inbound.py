"""What ingest runs on each batch's new customer messages, in its transaction: triage scores and survey
answers (issue 23). One call, so ingest's own code stays as it is."""

from __future__ import annotations

import sqlite3

from agentconsole.storage.surveys import take_answers
from agentconsole.storage.triage import score_new


def after_batch(conn: sqlite3.Connection, after_id: int) -> None:
    score_new(conn, after_id)
    take_answers(conn, after_id)
