"""internal blueprint."""
