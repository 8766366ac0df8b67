"""The police background-check side, as an external party would run it."""
