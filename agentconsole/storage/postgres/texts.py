"""PostgreSQL's own versions of the schema statements only SQLite has (full-text search, triggers)."""

from __future__ import annotations

# Porter-like stemming (Snowball English, as FTS5's porter tokenizer) with diacritics folded (unaccent, as
# remove_diacritics) and no stop words (FTS5 has none): what canned replies and answers from history
# are searched with.
SEARCH_CONFIG = [
    "CREATE TEXT SEARCH DICTIONARY agentconsole_english (TEMPLATE = snowball, Language = english)",
    "CREATE TEXT SEARCH CONFIGURATION agentconsole_stem (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION agentconsole_stem ALTER MAPPING FOR asciiword, word, numword,"
    " asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart WITH unaccent, agentconsole_english",
]

# The change log other consoles read: one row per changed conversation (or NULL for shifts and leases),
# written in the same transaction as the change, as the SQLite triggers do.
CHANGES = [
    """CREATE FUNCTION agentconsole_change() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF TG_ARGV[1] = 'new' THEN
        INSERT INTO changes(conversation_id, what) VALUES (NEW.conversation_id, TG_ARGV[0]);
    ELSIF TG_ARGV[1] = 'old' THEN
        INSERT INTO changes(conversation_id, what) VALUES (OLD.conversation_id, TG_ARGV[0]);
    ELSIF TG_ARGV[1] = 'both' THEN
        INSERT INTO changes(conversation_id, what) VALUES (NEW.conversation_id, TG_ARGV[0]);
        INSERT INTO changes(conversation_id, what) VALUES (OLD.conversation_id, TG_ARGV[0]);
    ELSIF TG_ARGV[1] = 'conversation' THEN
        INSERT INTO changes(conversation_id, what) VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' AND NOT (
            OLD.status IS DISTINCT FROM NEW.status OR OLD.needs_reply IS DISTINCT FROM NEW.needs_reply
            OR OLD.waiting_since IS DISTINCT FROM NEW.waiting_since
            OR OLD.last_message_at IS DISTINCT FROM NEW.last_message_at
            OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id OR OLD.kind IS DISTINCT FROM NEW.kind
            OR OLD.escalated IS DISTINCT FROM NEW.escalated) THEN 'row' ELSE 'order' END);
    ELSE
        INSERT INTO changes(conversation_id, what) VALUES (NULL, TG_ARGV[0]);
    END IF;
    RETURN NULL;
END
$body$""",
    "CREATE TRIGGER changes_conv AFTER INSERT OR UPDATE ON conversations FOR EACH ROW"
    " EXECUTE FUNCTION agentconsole_change('order', 'conversation')",
    "CREATE TRIGGER changes_note_ai AFTER INSERT ON notes FOR EACH ROW EXECUTE FUNCTION agentconsole_change('note', 'new')",
    "CREATE TRIGGER changes_outbox_ai AFTER INSERT ON outbox FOR EACH ROW WHEN (NEW.conversation_id IS NOT NULL)"
    " EXECUTE FUNCTION agentconsole_change('outbox', 'new')",
    "CREATE TRIGGER changes_outbox_au AFTER UPDATE OF state ON outbox FOR EACH ROW"
    " WHEN (NEW.conversation_id IS NOT NULL AND OLD.state IS DISTINCT FROM NEW.state)"
    " EXECUTE FUNCTION agentconsole_change('outbox', 'new')",
    "CREATE TRIGGER changes_presence_ai AFTER INSERT ON presence FOR EACH ROW"
    " EXECUTE FUNCTION agentconsole_change('presence', 'new')",
    "CREATE TRIGGER changes_presence_au AFTER UPDATE ON presence FOR EACH ROW"
    " WHEN (OLD.conversation_id IS DISTINCT FROM NEW.conversation_id OR OLD.activity IS DISTINCT FROM NEW.activity)"
    " EXECUTE FUNCTION agentconsole_change('presence', 'both')",
    "CREATE TRIGGER changes_presence_ad AFTER DELETE ON presence FOR EACH ROW"
    " EXECUTE FUNCTION agentconsole_change('presence', 'old')",
    "CREATE TRIGGER changes_shift AFTER INSERT OR UPDATE ON shifts FOR EACH ROW"
    " EXECUTE FUNCTION agentconsole_change('shift', 'none')",
    "CREATE TRIGGER changes_lease_ai AFTER INSERT OR DELETE ON leases FOR EACH ROW"
    " EXECUTE FUNCTION agentconsole_change('lease', 'none')",
    "CREATE TRIGGER changes_lease_au AFTER UPDATE OF owner ON leases FOR EACH ROW"
    " WHEN (OLD.owner IS DISTINCT FROM NEW.owner) EXECUTE FUNCTION agentconsole_change('lease', 'none')",
]

# Answers from history: each pair keeps its question; a generated tsvector searches it.
KNOWLEDGE = [
    "ALTER TABLE knowledge_pairs ADD COLUMN question TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE knowledge_pairs ADD COLUMN search tsvector"
    " GENERATED ALWAYS AS (to_tsvector('agentconsole_stem', question)) STORED",
    "CREATE INDEX knowledge_pairs_search ON knowledge_pairs USING gin (search)",
]
