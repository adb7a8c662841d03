"""The whistle service's adapters: its tables, the repositories that query them in the caller's scope, and the
mapping of the aggregate to rows."""
