"""Audit events: who did or saw what, written in the same transaction as the change."""
