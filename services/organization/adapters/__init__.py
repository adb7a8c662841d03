"""Persistence for the organization service: SQLAlchemy tables and repositories, password hashing."""
