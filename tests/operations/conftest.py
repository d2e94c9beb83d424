from tests.reminders.conftest import world  # noqa: F401 (the fixture: a SPIP, a place, a person)
