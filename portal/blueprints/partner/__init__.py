"""partner blueprint."""
