"""The whistle service (吹哨报到): a secretary summons the departments a problem needs; each reports in and acts
within time limits; every whistle is assessed and traced."""
