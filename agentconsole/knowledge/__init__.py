"""Answers from history: our replies to the earlier customer questions most like the open one."""
