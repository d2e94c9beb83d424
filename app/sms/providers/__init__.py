"""SMS providers, each implementing ``app.sms.base.SmsProvider``."""
