"""Local HubSpot and Salesforce sandboxes for the referral portal; see README.md."""
from crm_sandbox.app import create_app

__all__ = ["create_app"]
