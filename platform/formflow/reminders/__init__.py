"""Durable reminders: everything that must happen later is a row in the database.

A reminder row says what is due when (a notification, a flow task's timeout). The sweep
(``formflow scheduler``, or ``sweep()`` in tests) claims due rows and hands them to RQ;
a worker delivers each in one transaction together with its effect, so a job run twice
(a lease expired, Redis flushed and swept again) does it once. Redis and RQ carry the work;
they never own it.
"""
