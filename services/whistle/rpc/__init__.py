"""Entrypoints of the whistle service, one class per topic."""
