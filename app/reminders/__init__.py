"""Reminder engine: planning (pure), templates and rendering, the dispatcher and its jobs."""
