"""Integrations: configured RMM connections, their credentials and external references."""
