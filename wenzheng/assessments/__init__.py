"""Assessments: what triage concluded about each inbound message, stored for the console to sort and explain.

``wenzheng.triage`` is the pure library; this package is its place in the service — the stored results
and the worker job that runs the library over newly arrived messages in batches.
"""
