"""Near-duplicate clustering: MinHash signatures of character shingles, banded for lookup (LSH).

A plea forwarded 300 times becomes one cluster with a count; 500 identical "how do I donate?" questions too.
A worker keeps one :class:`ClusterIndex` per account and passes it to every batch; the index forgets messages
older than its window. The cluster id is the id of the first message seen in the cluster.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from wenzheng.triage.textmodel import unique_counts

_SHIFT = np.uint64(32)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MAX_CHARS = 400  # a long message is judged by its first 400 characters
# A lookup compares a message with the latest members of each band bucket it falls in, not with all of them: a
# text written 3,000 times, each copy a little different (「第1234条：路面塌陷」), fills its buckets with thousands of
# members, and its newest copies resemble the newest members at least as well as the old ones.
RECENT_PER_BUCKET = 32
_BAND_SALT = np.uint64(0xD6E8FEB86659FD93)  # an odd 64-bit constant
_HASH_CHUNK = 4096  # shingles hashed at a time: 64 functions × (4,096 + 400) × 8 bytes, under 4 MB (see below)
# Punctuation and symbols (the # of hashtags and the //@ of repost chains among them), 转发/扩散 and "rt @name:".
# The words of hashtags and names stay: on the Henan posts, dropping them as well joined as many copies as it split
# (4,773 vs 4,771 clusters of 4,920 posts), so the simpler rule was kept. Applied to lower-cased text.
_NOISE = re.compile(r"[\W_]+|转发|扩散|求转|rt @\w+:?")
_WORD_RUN = re.compile(r"\w+")


def _core(text: str) -> str:
    """The text as shingled: lower-cased, without what ``_NOISE`` matches.

    Most texts hold none of its words, and then it only removes runs of ``[\\W_]``: the same as joining the
    runs of ``\\w`` and dropping underscores, which is faster than the alternation tried at every position.
    """
    lowered = text.lower()
    if "转发" in lowered or "扩散" in lowered or "求转" in lowered or "rt @" in lowered:
        return _NOISE.sub("", lowered)
    return "".join(_WORD_RUN.findall(lowered)).replace("_", "")


@dataclass(slots=True)
class _Entry:
    cluster: str
    signature: np.ndarray
    at: datetime


def _aware(moment: datetime) -> datetime:
    """Times without a zone are taken as UTC (SQLite hands back naive datetimes)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@functools.cache
def _hash_family(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """The MinHash multipliers (odd) and offsets: a fixed seed, so signatures agree across processes and runs."""
    generator = np.random.default_rng(20130420)
    multipliers = generator.integers(1, 2**63, num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    return multipliers, generator.integers(0, 2**63, num_perm, dtype=np.uint64)


class ClusterIndex:
    """An in-memory near-duplicate index over the last ``window`` of messages.

    ``assign(message_id, text)`` returns the cluster id: the id of an earlier message whose estimated Jaccard
    similarity is at least ``threshold``, or ``message_id`` itself when the message is new. Not thread-safe:
    keep one per account per worker.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.7,
        window: timedelta = timedelta(days=3),
        num_perm: int = 64,
        bands: int = 16,
        shingle: int = 3,
    ) -> None:
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.threshold, self.window, self.bands, self.shingle = threshold, window, bands, shingle
        self._a, self._b = _hash_family(num_perm)
        self._entries: dict[str, _Entry] = {}
        # A bucket holds its one message id as a plain string, and becomes a list on its second member: most
        # buckets only ever hold one, and a list per bucket (16 per message) was most of what the garbage
        # collector had to walk in a long-lived index.
        self._buckets: dict[int, str | list[str]] = {}
        # Each band's values folded into one integer, salted by the band so equal values in two bands differ.
        self._band_salts = np.arange(1, bands + 1, dtype=np.uint64) * _BAND_SALT
        self._sizes: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def assign(
        self,
        message_id: str,
        text: str,
        at: datetime | None = None,
        *,
        signature: np.ndarray | None = None,
        keys: list[int] | None = None,
    ) -> str:
        """The cluster of a message, adding it to the index (a message id seen before keeps its cluster).

        ``signature`` and its band ``keys`` may come from :meth:`signatures` and :meth:`band_keys`, computed for a
        whole batch at once.
        """
        if message_id in self._entries:
            return self._entries[message_id].cluster
        at = _aware(at or datetime.now(UTC))
        signature = self.signature(text) if signature is None else signature
        keys = self.band_keys(signature[None, :])[0] if keys is None else keys
        match, similarity = self._best_match(signature, keys)
        cluster = self._entries[match].cluster if match else message_id
        self._entries[message_id] = _Entry(cluster, signature, at)
        if similarity < 0.9:  # a near-copy adds nothing to lookups: its neighbour already stands for it
            self._add_to_buckets(message_id, keys)
        self._sizes[cluster] = self._sizes.get(cluster, 0) + 1
        return cluster

    def _add_to_buckets(self, message_id: str, keys: list[int]) -> None:
        buckets = self._buckets
        for key in keys:
            members = buckets.get(key)
            if members is None:
                buckets[key] = message_id
            elif isinstance(members, str):
                buckets[key] = [members, message_id]
            else:
                members.append(message_id)

    def _bucket(self, key: int) -> list[str]:
        """The message ids in a bucket, oldest first."""
        members = self._buckets.get(key, [])
        return [members] if isinstance(members, str) else members

    def assign_many(self, messages: Sequence[tuple[str, str, datetime | None]]) -> list[str | None]:
        """:meth:`assign` for each ``(message_id, text, at)`` in order, hashed a thousand at a time; a message
        with no text has no cluster."""
        clusters: list[str | None] = []
        for first in range(0, len(messages), 1024):
            part = messages[first : first + 1024]
            signatures = self.signatures([text for _, text, _ in part])
            keys = self.band_keys(signatures)
            clusters += [
                self.assign(mid, text, at, signature=signatures[i], keys=keys[i]) if text else None
                for i, (mid, text, at) in enumerate(part)
            ]
        return clusters

    def size(self, cluster: str) -> int:
        """How many messages in the window belong to a cluster."""
        return self._sizes.get(cluster, 0)

    def prune(self, now: datetime | None = None) -> int:
        """Forget messages older than the window; returns how many were dropped."""
        cutoff = _aware(now or datetime.now(UTC)) - self.window
        old = [mid for mid, entry in self._entries.items() if entry.at < cutoff]
        if not old:
            return 0
        keys = self.band_keys(np.stack([self._entries[mid].signature for mid in old]))
        for mid, entry_keys in zip(old, keys, strict=True):
            entry = self._entries.pop(mid)
            for key in entry_keys:
                members = self._buckets.get(key)
                if members == mid:
                    del self._buckets[key]
                elif isinstance(members, list) and mid in members:
                    members.remove(mid)
                    if len(members) == 1:
                        self._buckets[key] = members[0]
            self._sizes[entry.cluster] -= 1
            if not self._sizes[entry.cluster]:
                del self._sizes[entry.cluster]
        return len(old)

    def signature(self, text: str) -> np.ndarray:
        """MinHash signature of the text's character shingles (punctuation, symbols and 转发 noise removed)."""
        return self.signatures([text])[0]

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """MinHash signatures of a batch, shape ``(len(texts), num_perm)``, in a few numpy operations."""
        n = self.shingle
        cores = [(_core(text)[:_MAX_CHARS] or " ").ljust(n) for text in texts]
        points = np.frombuffer("".join(cores).encode("utf-32-le"), np.uint32).astype(np.uint64)
        owner = np.repeat(np.arange(len(cores), dtype=np.uint64), [len(core) for core in cores])
        width = len(points) - n + 1
        shingles = np.zeros(width, np.uint64)
        for offset in range(n):  # a polynomial hash of each shingle, computed for all at once
            shingles = shingles * np.uint64(1_000_003) + points[offset : offset + width]
        inside = owner[:width] == owner[n - 1 :]  # no shingle across two messages
        # One row per distinct (message, shingle), ordered by message (owner sits in the top bits).
        mixed = (shingles[inside] * _GOLDEN) >> np.uint64(24)  # an odd multiplier mixes every bit into the top 40
        keyed, _ = unique_counts((owner[:width][inside] << np.uint64(40)) | mixed)
        starts = np.searchsorted(keyed >> np.uint64(40), np.arange(len(cores), dtype=np.uint64))
        values = keyed & np.uint64((1 << 40) - 1)
        return self._min_hashes(values, starts)

    def _min_hashes(self, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Each message's minimum of every hash function over its shingles (``starts``: where each message's
        shingles begin in ``values``).

        Multiply-shift hashing (wrapping uint64 arithmetic, top 32 bits): a universal family, no slow modulo. The
        messages go through in groups of about ``_HASH_CHUNK`` shingles, so the hash matrix stays in the CPU cache,
        written into one buffer: a fresh array per group cost more than the hashing (numpy asks the kernel for
        huge pages for arrays of 4 MB and more, and a new one is new memory to fault in and clear every time).
        """
        a, b = self._a[:, None], self._b[:, None]
        result = np.empty((len(starts), len(self._a)), np.uint64)
        bounds = np.append(starts, len(values))
        scratch = np.empty((len(self._a), _HASH_CHUNK + _MAX_CHARS), np.uint64)  # one buffer for every group
        first = 0
        while first < len(starts):
            last = max(first + 1, int(np.searchsorted(bounds, bounds[first] + _HASH_CHUNK, side="right")) - 1)
            low, high = int(bounds[first]), int(bounds[last])
            if high - low > scratch.shape[1]:
                scratch = np.empty((len(self._a), high - low), np.uint64)
            hashed = np.multiply(a, values[None, low:high], out=scratch[:, : high - low])
            hashed += b
            result[first:last] = np.minimum.reduceat(hashed, starts[first:last] - low, axis=1).T
            first = last
        result >>= _SHIFT  # the top bits of the minimum are the minimum of the top bits: one shift per message
        return result

    def band_keys(self, signatures: np.ndarray) -> list[list[int]]:
        """The LSH bucket keys of each signature: one integer per band, folded from the band's values in numpy.

        Two signatures share a key when a band is equal (and, by chance, about once in 2**64 otherwise: a shared
        key only adds a candidate, whose similarity is then measured).
        """
        parts = signatures.reshape(len(signatures), self.bands, -1)
        folded = parts[:, :, 0].copy()
        for column in range(1, parts.shape[2]):
            folded *= _GOLDEN
            folded += parts[:, :, column]
        folded ^= self._band_salts
        return folded.tolist()

    def _best_match(self, signature: np.ndarray, keys: list[int]) -> tuple[str | None, float]:
        buckets, found = self._buckets, set()
        for key in keys:
            members = buckets.get(key)
            if members is None:
                continue
            if isinstance(members, str):
                found.add(members)
            else:
                found.update(members[-RECENT_PER_BUCKET:])
        candidates = sorted(found)
        if not candidates:
            return None, 0.0
        matrix = np.stack([self._entries[mid].signature for mid in candidates])
        similarities = (matrix == signature).mean(axis=1)
        best = int(similarities.argmax())
        if similarities[best] < self.threshold:
            return None, 0.0
        return candidates[best], float(similarities[best])
