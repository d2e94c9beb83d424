"""SMS persons send back: a STOP records their refusal, any other text is a reply shown to
their referent (``service``); the providers' webhook (``inbound_router``) and the API's list of
a person's replies (``router``)."""
