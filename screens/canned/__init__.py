"""The canned-reply picker and editors."""
