"""Review: delegations, admins, the review queue, confirmation of personnel."""
