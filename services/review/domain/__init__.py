"""Review rules, by subject: organisations (scope, admins, audit, settings), decisions on
units, personnel (payers, labels, quotas, reuse), invitation codes and statistics.
Callers import the subject module (`from .domain import decisions`)."""
