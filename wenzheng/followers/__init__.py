"""Followers: citizens subscribed to an account on a channel, with tags and a last known location."""
