"""dev blueprint."""
