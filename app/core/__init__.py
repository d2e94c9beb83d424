"""Cross-cutting pieces. ``core`` imports no domain package."""
