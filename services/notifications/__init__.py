"""Notifications: email (SMTP) and SMS to units, from events, exactly once as seen."""
