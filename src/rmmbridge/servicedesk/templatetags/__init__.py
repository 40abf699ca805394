"""Template tags of the service-desk pages."""
