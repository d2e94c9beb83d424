"""Attendance and SMS reports for SPIP managers, computed in the database."""
