"""The HubSpot sandbox; `crm_sandbox.hubspot.blueprint` assembles it."""
