"""DM escalation and crisis-mode dialogs."""
