"""Credentials: background checks, production, distribution, revocation."""
