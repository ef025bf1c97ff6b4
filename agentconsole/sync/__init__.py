"""The sync engine that polls connectors and dispatches the outbox."""
