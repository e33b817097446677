"""Email: an outbox of reminder rows, sent by the workers over SMTP.

``outbox.send_later`` schedules a reminder of kind ``email`` in the caller's unit of work,
so an email exists exactly when what it reports does; the sweep hands it to a worker, which
sends it (``kinds``) through the server ``SMTP_URL`` names (``smtp``). A refusal, a server
down or no ``SMTP_URL`` at all is retried with the reminders' backoff and, after the last
attempt, the reminder is marked failed with the error.

Delivery is at least once, not exactly once. The worker talks to the SMTP server inside the
transaction that marks the reminder done, so an email the server refused (or never finished
receiving) is sent again and nothing is lost. The window is the other side: once the server
has answered DATA with 250 it owns the message, and if the worker dies (or the commit fails)
between that answer and the commit, the reminder is still queued and its lease expires, so
the email is sent a second time. Both copies carry the same ``Message-ID`` (made from the
reminder, not from the attempt), so a receiver that dedupes on it shows one.
"""
