"""Team dialogs: what to do about a collision, and whom to assign a conversation to."""
