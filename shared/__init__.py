"""The services' common library: events, outbox/inbox, db, config, auth, errors, validators."""
