"""The convocation link: a short, unguessable URL in each SMS, to the person's own page.

* ``tokens``: derivation of a link's token from its row's nonce (pure, no storage of tokens);
* ``service``: issuing a link when a convocation is booked, finding one from a visitor's
  token, following a rescheduled convocation to its latest, revoking;
* ``calendar``: the convocation as an iCalendar file (``.ics``);
* ``ratelimit``: the per-address limit of the public pages;
* ``router``: the agents' API (revocation). The person's pages are in ``app.web.pages.person_link``.
"""
