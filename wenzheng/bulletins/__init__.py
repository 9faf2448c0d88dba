"""Bulletins: what an agency publishes to its followers, approved, fanned out on every channel, and measured."""
