"""HubSpot API endpoints, by area."""
