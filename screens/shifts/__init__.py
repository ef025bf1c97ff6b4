"""Shift dialogs, the shift history screen and the banner line."""
