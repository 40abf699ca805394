"""Sync engine: plan and apply imports of customers, sites, users and assets."""
