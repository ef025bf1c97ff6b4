"""Shifts: start and end, the hand-off note, the banner line and away replies."""
