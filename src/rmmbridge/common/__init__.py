"""Small helpers shared by every app: home folder, secrets, redaction, clock."""
