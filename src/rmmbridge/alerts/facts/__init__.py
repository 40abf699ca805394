"""Alert facts: one normalized report per alert, read from each channel's stored event."""
