"""Registration's rules, one module per subject."""
