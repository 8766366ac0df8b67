"""Billing's rules, one module per subject: orders (and payments), transfers, invoices,
refunds and reconciliation."""
