"""Users, roles, sessions, API tokens, and the one place that decides who may do what."""
