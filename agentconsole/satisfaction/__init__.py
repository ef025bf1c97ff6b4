"""Satisfaction: the optional one-question survey after a conversation is done, and its answers."""
