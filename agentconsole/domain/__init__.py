"""The domain's plain data: models, typed errors, the clock, rows and the text sanitiser."""
