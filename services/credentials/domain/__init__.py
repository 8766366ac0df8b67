"""Credential rules, one module per subject: police checks, production and distribution,
revocation and reissue, gate verification, reporting. Personal data comes from
registration over RPC and leaves only on the police-only BackgroundCheckRequested event."""
