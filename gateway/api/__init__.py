"""The gateway's HTTP API: one blueprint per service (`orgs`, with `auth` for sessions) plus the ops routes."""
