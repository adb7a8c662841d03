"""Use cases of the whistle service: one function per command or query, (uow, ctx, data) in, dict out."""
