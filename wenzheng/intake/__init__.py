"""One door in: every channel hands its parsed message to ``accept``, which stores it durably and once."""
