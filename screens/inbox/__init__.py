"""The inbox screen: the conversation list, the conversation pane and the header."""
