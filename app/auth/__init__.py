"""Authentication and access: who the agent is, and what they may do on which SPIP.

A low package: it imports the models, ``app.core``, the database edge and the audit trail, and no
domain (SPIPs, agents, persons, convocations, reminders, reports). The domains import it:

* ``access``: roles, ``Permission``, the SPIP scope rules (pure functions of an agent);
* ``passwords``: Argon2id hashing off the event loop, the password rule;
* ``service``: logins (lock-out, rate limits), opaque tokens, activation, password changes;
* ``dependencies``: ``CurrentAgent``, ``Allowed(permission)``, ``PUBLIC``, ``ensure_scope`` (each
  domain's ``dependencies`` builds its scoped loaders on it), refusals kept in the audit trail;
* ``router``: ``/auth/token``, ``/auth/logout``, ``/auth/me``, ``/auth/activate``;
* ``schemas``, ``errors``.
"""
