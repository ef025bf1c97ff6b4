"""Triage: how upset and how urgent each customer message reads, scored at ingest."""
