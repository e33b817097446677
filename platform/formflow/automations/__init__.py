"""Automations (Jiandaoyun's 智能助手): a trigger, an optional condition, and actions.

An automation is a definition — JSON, shipped under ``workflows/`` and versioned in the
database like a flow — and every time it fires is a *run*: a row saying what triggered it,
on which record, what each action did, how long it took and why it failed. A run is
created in the same transaction as what triggered it (a record saved, a flow finished)
and delivered as a durable reminder (kind ``automation``), so a crash, a flushed Redis or a
killed worker never loses or doubles one. Schedules (cron) and date fields are reminder
rows too: the database holds every future obligation.

Modules: ``definition`` (what an automation may say, checked before it is saved),
``service`` (publish, enable, read), ``triggers`` (where records and flows start runs),
``timing`` (cron and date-field due times), ``runs`` (creating, listing and retrying
runs), ``runner`` (executing a run), ``actions`` (what each action does), ``functions``
(plugin functions an automation may call), ``files`` (install and export).
"""
