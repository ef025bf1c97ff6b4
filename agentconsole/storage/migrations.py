"""The schema as forward migrations: entry i moves the schema from version i to i + 1."""

from __future__ import annotations

from agentconsole.storage.search import PREFIX_INDEX
from agentconsole.storage.migrations_base import FOUNDATION

# Each entry moves the schema from version i to i + 1. Never edit a released step: append one.
MIGRATIONS: list[str] = [
    *FOUNDATION,  # steps 1-3: the core tables
    # Metrics: indexes that are cheap to keep on the ingest path (time-ordered or rarely rewritten),
    # covering, so a day of figures on a million messages reads few table rows.
    """
    CREATE INDEX messages_metrics ON messages(direction, sent_at, conversation_id, account_id, agent_id, source);
    CREATE INDEX conv_first_response ON conversations(first_response_at, first_customer_at, channel, account_id);
    CREATE INDEX events_metrics ON conversation_events(event, at, conversation_id, agent_id);
    CREATE INDEX events_reopened ON conversation_events(conversation_id, at) WHERE event = 'reopened';
    """,
    # The inbox's id list and view counts read only these columns: one covering index serves every
    # view without touching the table (400 ms -> tens of ms for 100k conversations).
    """
    CREATE INDEX conv_recent_views ON conversations(last_message_at, status, needs_reply, kind, escalated,
        assignee_id);
    DROP INDEX conv_recent;
    """,
    # The wait line judges each waiting conversation against its own account's target and hours: the
    # waiting index also carries account and kind (and status, which SQLite needs to see the partial
    # index as covering), so that is one pass over the index, not the table.
    """
    DROP INDEX conv_waiting;
    CREATE INDEX conv_waiting ON conversations(needs_reply, waiting_since, account_id, kind, status)
        WHERE status = 'open';
    """,
    # The search index keeps no per-row column sizes (columnsize=0): that table cost one more b-tree
    # row per ingested message (FTS work per message -40%) and served only ranking, which search does
    # not use (it is newest first); snippet() measures the 50 hits it shows from their text instead.
    """
    DROP TABLE messages_fts;
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, subject, author_name, content='messages', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', columnsize=0
    );
    INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
    """,
    # Outbox phases: how far the current attempt got (see agentconsole.channels.phases), when it
    # started (a stuck send shows for how long), when the first attempt began (lookups search from
    # there, idempotency windows count from there), and an accepted send whose after-work is due.
    """
    ALTER TABLE outbox ADD COLUMN phase TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN attempt_at REAL;
    ALTER TABLE outbox ADD COLUMN first_attempt_at REAL;
    ALTER TABLE outbox ADD COLUMN accepted TEXT;
    UPDATE outbox SET phase = 'unknown' WHERE state = 'sending';
    """,
    # Edits: a message the author edited on the platform keeps its earlier texts (and their raw payloads)
    # here; messages.edited_at says when the shown text was written.
    """
    ALTER TABLE messages ADD COLUMN edited_at REAL;
    CREATE TABLE message_versions (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages(id),
        text TEXT NOT NULL,
        raw BLOB,
        edited_at REAL,
        replaced_at REAL NOT NULL
    );
    CREATE INDEX message_versions_message ON message_versions(message_id);
    """,
    # A team on one workspace: who is viewing or composing what (rows expire by time, so a console
    # that dies leaves no ghost), leases (one engine per account), hand-ons waiting for an agent's
    # next shift, and a change log written by triggers in the same transaction as each change, so
    # another console refreshes only the rows that changed. Only the id is indexed (the rowid): a
    # trigger costs one append per changed conversation per ingest batch.
    """
    CREATE TABLE presence (
        console TEXT PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        conversation_id INTEGER REFERENCES conversations(id),
        activity TEXT NOT NULL DEFAULT 'viewing',
        since REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE INDEX presence_conversation ON presence(conversation_id, expires_at);
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        acquired_at REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE handons (
        conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id),
        to_agent_id INTEGER NOT NULL REFERENCES agents(id),
        shift_id INTEGER REFERENCES shifts(id),
        at REAL NOT NULL
    );
    CREATE TABLE changes (
        seq INTEGER PRIMARY KEY,
        conversation_id INTEGER,
        what TEXT NOT NULL
    );
    CREATE TRIGGER changes_conv_ai AFTER INSERT ON conversations BEGIN INSERT INTO changes(conversation_id, what) VALUES (new.id, 'order'); END;
    CREATE TRIGGER changes_conv_au AFTER UPDATE ON conversations BEGIN INSERT INTO changes(conversation_id, what) VALUES (new.id, CASE WHEN old.status IS NOT new.status OR old.needs_reply IS NOT new.needs_reply OR old.waiting_since IS NOT new.waiting_since OR old.last_message_at IS NOT new.last_message_at OR old.assignee_id IS NOT new.assignee_id OR old.kind IS NOT new.kind OR old.escalated IS NOT new.escalated THEN 'order' ELSE 'row' END); END;
    CREATE TRIGGER changes_note_ai AFTER INSERT ON notes BEGIN INSERT INTO changes(conversation_id, what) VALUES (new.conversation_id, 'note'); END;
    CREATE TRIGGER changes_outbox_ai AFTER INSERT ON outbox WHEN new.conversation_id IS NOT NULL BEGIN INSERT INTO changes(conversation_id, what) VALUES (new.conversation_id, 'outbox'); END;
    CREATE TRIGGER changes_outbox_au AFTER UPDATE OF state ON outbox WHEN new.conversation_id IS NOT NULL AND old.state IS NOT new.state BEGIN INSERT INTO changes(conversation_id, what) VALUES (new.conversation_id, 'outbox'); END;
    CREATE TRIGGER changes_presence_ai AFTER INSERT ON presence BEGIN INSERT INTO changes(conversation_id, what) VALUES (new.conversation_id, 'presence'); END;
    CREATE TRIGGER changes_presence_au AFTER UPDATE ON presence WHEN old.conversation_id IS NOT new.conversation_id OR old.activity IS NOT new.activity BEGIN INSERT INTO changes(conversation_id, what) VALUES (new.conversation_id, 'presence'); INSERT INTO changes(conversation_id, what) VALUES (old.conversation_id, 'presence'); END;
    CREATE TRIGGER changes_presence_ad AFTER DELETE ON presence BEGIN INSERT INTO changes(conversation_id, what) VALUES (old.conversation_id, 'presence'); END;
    CREATE TRIGGER changes_shift_ai AFTER INSERT ON shifts BEGIN INSERT INTO changes(conversation_id, what) VALUES (NULL, 'shift'); END;
    CREATE TRIGGER changes_shift_au AFTER UPDATE ON shifts BEGIN INSERT INTO changes(conversation_id, what) VALUES (NULL, 'shift'); END;
    CREATE TRIGGER changes_lease_ai AFTER INSERT ON leases BEGIN INSERT INTO changes(conversation_id, what) VALUES (NULL, 'lease'); END;
    CREATE TRIGGER changes_lease_au AFTER UPDATE OF owner ON leases WHEN old.owner IS NOT new.owner BEGIN INSERT INTO changes(conversation_id, what) VALUES (NULL, 'lease'); END;
    CREATE TRIGGER changes_lease_ad AFTER DELETE ON leases BEGIN INSERT INTO changes(conversation_id, what) VALUES (NULL, 'lease'); END;
    """,
    # Times stored before ingest checked them (infinite, negative, years ahead) crashed the console at
    # every launch: each becomes the time its row was stored, as ingest now does.
    """
    UPDATE messages SET sent_at = stored_at WHERE NOT (sent_at BETWEEN 0 AND stored_at + 86400);
    UPDATE conversations SET last_message_at = created_at WHERE NOT (last_message_at BETWEEN 0 AND 1e11);
    UPDATE conversations SET waiting_since = created_at WHERE NOT (waiting_since BETWEEN 0 AND 1e11);
    UPDATE conversations SET last_in_at = created_at WHERE NOT (last_in_at BETWEEN 0 AND 1e11);
    UPDATE conversations SET last_out_at = created_at WHERE NOT (last_out_at BETWEEN 0 AND 1e11);
    UPDATE conversations SET first_customer_at = created_at WHERE NOT (first_customer_at BETWEEN 0 AND 1e11);
    UPDATE conversations SET first_response_at = created_at WHERE NOT (first_response_at BETWEEN 0 AND 1e11);
    UPDATE conversations SET resolved_at = created_at WHERE NOT (resolved_at BETWEEN 0 AND 1e11);
    """,
    # Triage (issue 23; issue 23's migrations can run again harmlessly): every inbound message's sentiment and heat, each waiting conversation's heat
    # for the urgency rank, and the agents' corrections of it (kept: they say where the scorer is wrong).
    """
    CREATE TABLE IF NOT EXISTS message_scores (
        message_id INTEGER PRIMARY KEY REFERENCES messages(id),
        conversation_id INTEGER NOT NULL,
        sentiment REAL NOT NULL,
        heat REAL NOT NULL,
        english INTEGER NOT NULL,
        sent_at REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS conversation_triage (
        conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id),
        heat REAL NOT NULL,
        peak REAL NOT NULL,
        episode_messages INTEGER NOT NULL,
        episode_since REAL NOT NULL,
        corrected_by INTEGER REFERENCES agents(id),
        corrected_at REAL
    );
    CREATE TABLE IF NOT EXISTS triage_corrections (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        message_id INTEGER REFERENCES messages(id),
        agent_id INTEGER REFERENCES agents(id),
        scored REAL NOT NULL,
        level INTEGER NOT NULL,
        at REAL NOT NULL
    );
    """,
    # Answers from history (issue 23): each customer question with the reply it got, in a search index
    # of its own (far smaller than all messages), kept up to date from a cursor on the message ids.
    """
    CREATE TABLE IF NOT EXISTS knowledge_pairs (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        answer_id INTEGER NOT NULL REFERENCES messages(id),
        asked_at REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS knowledge_pairs_conversation ON knowledge_pairs(conversation_id);
    CREATE VIRTUAL TABLE IF NOT EXISTS knowledge_fts USING fts5(question, tokenize = 'porter unicode61 remove_diacritics 2');
    CREATE TABLE IF NOT EXISTS knowledge_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last_message_id INTEGER NOT NULL
    );
    """,
    # Satisfaction surveys (issue 23): which accounts ask, and each question asked with its answer.
    """
    CREATE TABLE IF NOT EXISTS survey_settings (
        account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
        enabled INTEGER NOT NULL DEFAULT 0,
        public INTEGER NOT NULL DEFAULT 0,
        every_days INTEGER NOT NULL DEFAULT 30,
        question TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE IF NOT EXISTS surveys (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        contact_id INTEGER REFERENCES contacts(id),
        agent_id INTEGER REFERENCES agents(id),
        channel TEXT NOT NULL,
        asked_at REAL NOT NULL,
        outbox_id INTEGER,
        answered_at REAL,
        score INTEGER,
        how TEXT,
        words TEXT,
        answer_message_id INTEGER REFERENCES messages(id)
    );
    CREATE INDEX IF NOT EXISTS surveys_contact ON surveys(contact_id, asked_at);
    CREATE INDEX IF NOT EXISTS surveys_open ON surveys(conversation_id) WHERE answered_at IS NULL;
    """,
    # The urgency order reads every heated (upset or angry) wait beside each group's first page.
    """
    CREATE INDEX IF NOT EXISTS conversation_triage_heat ON conversation_triage(heat);
    """,
    # Search stays as fast as an exact word at any size (see agentconsole.storage.search): search_terms
    # lists every indexed word, so a prefix is read as the few words it can become instead of FTS5
    # merging all of their posting lists.
    """
    DROP TABLE IF EXISTS search_terms;
    CREATE TABLE search_terms (term TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE VIRTUAL TABLE temp.messages_vocab USING fts5vocab(main, messages_fts, 'row');
    INSERT INTO search_terms(term) SELECT term FROM temp.messages_vocab;
    DROP TABLE temp.messages_vocab;
    """,
    # Listening (issue 23): public posts found by an account's keywords and hashtags, kept apart from the
    # conversations (never in the waiting counts) until the agent promotes one; once per (account, id).
    """
    CREATE TABLE IF NOT EXISTS heard_posts (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        external_id TEXT NOT NULL,
        thread_key TEXT NOT NULL,
        author_id TEXT NOT NULL,
        author_handle TEXT NOT NULL DEFAULT '',
        author_name TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL,
        url TEXT NOT NULL DEFAULT '',
        matched TEXT NOT NULL DEFAULT '',
        reply TEXT NOT NULL DEFAULT 'reply',
        receives_dm INTEGER,
        in_reply_to TEXT,
        raw TEXT,
        parse_note TEXT NOT NULL DEFAULT '',
        extra TEXT NOT NULL DEFAULT '{}',
        sent_at REAL NOT NULL,
        heard_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'new',
        conversation_id INTEGER REFERENCES conversations(id),
        decided_by INTEGER REFERENCES agents(id),
        decided_at REAL,
        UNIQUE (account_id, external_id)
    );
    CREATE INDEX IF NOT EXISTS heard_posts_state ON heard_posts(state, sent_at);
    """,
    # Metrics per local day (issue 20): each complete day's figures of one timezone and business hours,
    # filled on demand and dropped when a message or event at or before the day's end is stored
    # (metrics_marks holds the last ids looked at, and how many rows sat just below them: see LOOKBACK).
    """
    CREATE TABLE IF NOT EXISTS metrics_days (
        scope TEXT NOT NULL,
        day_start REAL NOT NULL,
        day_end REAL NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (scope, day_start)
    );
    CREATE INDEX IF NOT EXISTS metrics_days_end ON metrics_days(day_end);
    CREATE TABLE IF NOT EXISTS metrics_marks (
        name TEXT PRIMARY KEY,
        message_id INTEGER NOT NULL,
        event_id INTEGER NOT NULL,
        message_window INTEGER NOT NULL DEFAULT 0,
        event_window INTEGER NOT NULL DEFAULT 0
    );
    """,
    PREFIX_INDEX,  # search: the first one and two characters of every word indexed too (see storage/search.py)
    # Drafts: each agent's unsent reply or note per conversation, written as it is typed, so a crash, a
    # kill or a closed terminal loses none and the next start opens the composer on it (storage/drafts.py).
    """
    CREATE TABLE IF NOT EXISTS drafts (
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        mode TEXT NOT NULL,
        text TEXT NOT NULL,
        template_text TEXT,
        template_id INTEGER,
        updated_at REAL NOT NULL,
        PRIMARY KEY (agent_id, conversation_id, mode)
    );
    """,
]
