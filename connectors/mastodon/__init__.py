"""Mastodon: mentions, replies and DMs over the Mastodon REST API."""
