"""The reply and internal-note composer: its widget, its drafts and the inbox verbs that open it."""
