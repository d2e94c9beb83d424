"""The audit trail: who did what, when — append-only, without personal values."""
