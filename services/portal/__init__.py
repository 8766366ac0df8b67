"""The web portal for units: pages only, no database (issue #12)."""
