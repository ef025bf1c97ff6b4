"""agentconsole core: domain model, store, clock, sync engine and outbox, free of any UI."""

__version__ = "0.1.0"
