"""Attachments: files citizens send, kept in a content-addressed store (see ``store``)."""
