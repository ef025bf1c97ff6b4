"""What we send: the outbox, templates, canned replies, the send guard and escalation."""
