"""Service-desk core: customers, sites, users, assets, fields, audit trail."""
