"""Approval flows: definitions, running instances, tasks and their history."""
