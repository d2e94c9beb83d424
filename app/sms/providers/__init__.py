"""SMS providers, each implementing ``app.sms.base.SmsProvider``.

One module per provider, each with its own settings class and factory; ``registry.PROVIDERS``
lists them by name and ``registry.build_provider`` builds one from the SMS settings.
"""
