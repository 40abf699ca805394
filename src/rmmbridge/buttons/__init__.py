"""Custom device buttons: per-integration URL templates that open a device in its RMM."""
