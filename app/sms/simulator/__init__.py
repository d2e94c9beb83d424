"""A local SMS provider speaking the ``http`` wire format: ``python -m app.sms.simulator``."""
