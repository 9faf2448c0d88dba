"""Accounts (公众号): an agency's public faces, with their name history and verification."""
