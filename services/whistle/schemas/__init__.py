"""Wire contracts of the whistle service (the gateway's contract)."""
