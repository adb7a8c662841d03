"""Shared platform code for every Guandu service: no domain knowledge lives here."""
