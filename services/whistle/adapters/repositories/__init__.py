"""Queries of the whistle service, every one scoped to the caller."""
