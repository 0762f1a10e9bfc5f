"""auth blueprint."""
