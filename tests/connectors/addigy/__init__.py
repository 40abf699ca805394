"""Addigy connector tests."""
