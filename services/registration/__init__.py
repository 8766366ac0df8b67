"""Registration: units, accounts, unit info, personnel and the unit's progress."""
