"""Outgoing webhooks: a signed JSON POST to a URL an automation names, retried with backoff.

A :class:`~formflow.webhooks.models.Webhook` is one receiving URL with its signing secret
and its delivery counts; each call to it is a durable reminder of kind ``webhook``
(``service.send_later``), so a delivery survives a worker dying or Redis being flushed, is
retried with backoff when the receiver fails, and is recorded against the hook. Delivery
is at least once: receivers dedupe on ``X-Formflow-Delivery`` (see ``signing``).
"""
