"""Widgets and modals shared by every screen: the key bar, confirm dialogs, safe text."""
