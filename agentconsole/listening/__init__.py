"""Listening beyond @mentions: each account's keywords and hashtags, polled into the Heard view."""
