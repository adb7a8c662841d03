"""Data shipped with the organization service (the street module catalogue)."""
