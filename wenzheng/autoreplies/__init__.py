"""Keyword auto-replies: an account's instant answers, decided at intake within the channel's deadline."""
