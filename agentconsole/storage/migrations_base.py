"""The first schema steps: messages, conversations, the outbox, canned replies and shifts."""

from __future__ import annotations

# Released steps 1-3 of MIGRATIONS (agentconsole.storage.migrations); never edit one, append there.
FOUNDATION: list[str] = [
    """
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        channel TEXT NOT NULL,
        connector TEXT NOT NULL,
        handle TEXT NOT NULL DEFAULT '',
        display_name TEXT NOT NULL DEFAULT '',
        settings TEXT NOT NULL DEFAULT '{}',
        is_demo INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        display_name TEXT NOT NULL DEFAULT '',
        bio TEXT NOT NULL DEFAULT '',
        location TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    CREATE TABLE identities (
        id INTEGER PRIMARY KEY,
        contact_id INTEGER NOT NULL REFERENCES contacts(id),
        channel TEXT NOT NULL,
        external_id TEXT NOT NULL,
        handle TEXT NOT NULL DEFAULT '',
        display_name TEXT NOT NULL DEFAULT '',
        UNIQUE (channel, external_id)
    );
    CREATE INDEX identities_contact ON identities(contact_id);
    CREATE TABLE agents (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        initials TEXT NOT NULL DEFAULT '',
        timezone TEXT NOT NULL DEFAULT 'UTC',
        created_at REAL NOT NULL
    );
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        thread_key TEXT NOT NULL,
        contact_id INTEGER REFERENCES contacts(id),
        identity_id INTEGER REFERENCES identities(id),
        subject TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'open',
        assignee_id INTEGER REFERENCES agents(id),
        needs_reply INTEGER NOT NULL DEFAULT 0,
        waiting_since REAL,
        last_in_at REAL,
        last_out_at REAL,
        first_customer_at REAL,
        first_response_at REAL,
        resolved_at REAL,
        last_message_at REAL NOT NULL,
        last_preview TEXT NOT NULL DEFAULT '',
        last_direction TEXT NOT NULL DEFAULT 'in',
        message_count INTEGER NOT NULL DEFAULT 0,
        customer_count INTEGER NOT NULL DEFAULT 0,
        linked_id INTEGER REFERENCES conversations(id),
        escalated INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        UNIQUE (account_id, thread_key)
    );
    CREATE INDEX conv_waiting ON conversations(needs_reply, waiting_since) WHERE status = 'open';
    CREATE INDEX conv_recent ON conversations(last_message_at);
    CREATE INDEX conv_contact ON conversations(contact_id);
    CREATE INDEX conv_kind ON conversations(kind, status);
    CREATE INDEX conv_assignee ON conversations(assignee_id, status);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        external_id TEXT NOT NULL,
        direction TEXT NOT NULL,
        visibility TEXT NOT NULL,
        identity_id INTEGER REFERENCES identities(id),
        author_name TEXT NOT NULL DEFAULT '',
        author_handle TEXT NOT NULL DEFAULT '',
        subject TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        raw BLOB,
        parse_note TEXT NOT NULL DEFAULT '',
        in_reply_to TEXT,
        sent_at REAL NOT NULL,
        stored_at REAL NOT NULL,
        agent_id INTEGER REFERENCES agents(id),
        source TEXT,
        UNIQUE (account_id, external_id)
    );
    CREATE INDEX messages_conversation ON messages(conversation_id, sent_at);
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, subject, author_name, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        agent_id INTEGER REFERENCES agents(id),
        text TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX notes_conversation ON notes(conversation_id, created_at);
    CREATE TABLE conversation_events (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        event TEXT NOT NULL,
        at REAL NOT NULL,
        agent_id INTEGER REFERENCES agents(id)
    );
    CREATE INDEX events_at ON conversation_events(event, at);
    CREATE INDEX events_conversation ON conversation_events(conversation_id, at);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        conversation_id INTEGER REFERENCES conversations(id),
        action TEXT NOT NULL,
        request TEXT NOT NULL,
        text TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        external_id TEXT,
        message_id INTEGER REFERENCES messages(id),
        agent_id INTEGER REFERENCES agents(id),
        source TEXT,
        resolve_after INTEGER NOT NULL DEFAULT 0,
        owner TEXT NOT NULL DEFAULT '',
        after_id INTEGER REFERENCES outbox(id),
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX outbox_state ON outbox(state, next_attempt_at);
    CREATE INDEX outbox_conversation ON outbox(conversation_id);
    CREATE INDEX outbox_after ON outbox(after_id) WHERE after_id IS NOT NULL;
    CREATE TABLE escalations (
        id INTEGER PRIMARY KEY,
        public_conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        dm_conversation_id INTEGER REFERENCES conversations(id),
        dm_item INTEGER REFERENCES outbox(id),
        public_item INTEGER REFERENCES outbox(id),
        status_item INTEGER REFERENCES outbox(id),
        batch TEXT,
        agent_id INTEGER REFERENCES agents(id),
        created_at REAL NOT NULL
    );
    CREATE INDEX escalations_public ON escalations(public_conversation_id);
    CREATE INDEX escalations_batch ON escalations(batch);
    CREATE TABLE sync_cursors (
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        stream TEXT NOT NULL DEFAULT '',
        cursor TEXT,
        updated_at REAL NOT NULL,
        PRIMARY KEY (account_id, stream)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        agent_id INTEGER REFERENCES agents(id),
        action TEXT NOT NULL,
        conversation_id INTEGER REFERENCES conversations(id),
        detail TEXT NOT NULL DEFAULT '{}',
        at REAL NOT NULL
    );
    CREATE INDEX audit_conversation ON audit(conversation_id, at);
    """,
    # Canned replies; tags/channels/kinds are JSON lists (empty channels/kinds = suits all).
    """
    CREATE TABLE canned (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        shortcut TEXT NOT NULL UNIQUE COLLATE NOCASE,
        body TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        channels TEXT NOT NULL DEFAULT '[]',
        kinds TEXT NOT NULL DEFAULT '[]',
        usage_count INTEGER NOT NULL DEFAULT 0,
        last_used_at REAL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE VIRTUAL TABLE canned_fts USING fts5(
        name, body, tags, content='canned', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER canned_ai AFTER INSERT ON canned BEGIN INSERT INTO canned_fts(rowid, name, body, tags) VALUES (new.id, new.name, new.body, new.tags); END;
    CREATE TRIGGER canned_ad AFTER DELETE ON canned BEGIN INSERT INTO canned_fts(canned_fts, rowid, name, body, tags) VALUES ('delete', old.id, old.name, old.body, old.tags); END;
    CREATE TRIGGER canned_au AFTER UPDATE OF name, body, tags ON canned BEGIN INSERT INTO canned_fts(canned_fts, rowid, name, body, tags) VALUES ('delete', old.id, old.name, old.body, old.tags); INSERT INTO canned_fts(rowid, name, body, tags) VALUES (new.id, new.name, new.body, new.tags); END;
    """,
    # Shifts: who is on, their hello/goodbye posts (as outbox items), the hand-off note, away replies.
    """
    CREATE TABLE shifts (
        id INTEGER PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id),
        started_at REAL NOT NULL,
        planned_end REAL,
        ended_at REAL,
        next_agent TEXT NOT NULL DEFAULT '',
        next_start REAL,
        handoff_note TEXT NOT NULL DEFAULT '',
        acknowledged_by INTEGER REFERENCES agents(id),
        acknowledged_at REAL,
        answered INTEGER,
        median_first_response REAL
    );
    CREATE INDEX shifts_open ON shifts(ended_at);
    CREATE UNIQUE INDEX shifts_one_open_per_agent ON shifts(agent_id) WHERE ended_at IS NULL;
    CREATE INDEX shifts_started ON shifts(started_at);
    CREATE TABLE shift_posts (
        shift_id INTEGER NOT NULL REFERENCES shifts(id),
        kind TEXT NOT NULL,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        outbox_id INTEGER REFERENCES outbox(id),
        problem TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (shift_id, kind, account_id)
    );
    CREATE TABLE shift_accounts (
        account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
        hello INTEGER,
        hello_template TEXT,
        goodbye_template TEXT,
        away INTEGER NOT NULL DEFAULT 0,
        away_template TEXT
    );
    CREATE TABLE away_replies (
        id INTEGER PRIMARY KEY,
        off_since REAL NOT NULL,
        person TEXT NOT NULL,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        outbox_id INTEGER REFERENCES outbox(id),
        at REAL NOT NULL,
        UNIQUE (off_since, person)
    );
    """,
]
