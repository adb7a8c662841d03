"""The organisation tree and accounts as pure Python: rules, aggregates and the events they record."""
