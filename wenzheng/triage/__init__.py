"""Triage: a pure library that reads citizens' messages and says how urgent they are, what they want, who and
where they concern, which earlier messages they repeat, and which department should take them.

No database, no web: a batch of messages in, a list of results out (``triage_batch``). The worker keeps one
``ClusterIndex`` per account for near-duplicates; routing rules are passed in as plain data. See docs/triage.md.
"""

from wenzheng.triage.cluster import ClusterIndex
from wenzheng.triage.models import INTENTS, URGENCIES, People, Place, RoutingRule, TriageInput, TriageResult
from wenzheng.triage.normalize import detect_language, normalize
from wenzheng.triage.pipeline import TriageModels, load_models, triage, triage_batch
from wenzheng.triage.world import known_countries

__all__ = [
    "INTENTS",
    "URGENCIES",
    "ClusterIndex",
    "People",
    "Place",
    "RoutingRule",
    "TriageInput",
    "TriageModels",
    "TriageResult",
    "detect_language",
    "known_countries",
    "load_models",
    "normalize",
    "triage",
    "triage_batch",
]
