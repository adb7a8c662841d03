"""The Guandu demo data set (loaded by `python -m organization.demo`)."""
