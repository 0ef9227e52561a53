"""Returns' use cases; import them from here."""
