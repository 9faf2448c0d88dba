"""Staff users, their roles per agency, console sessions, API tokens and login throttling."""
