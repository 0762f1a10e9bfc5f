"""Local HubSpot and Salesforce sandboxes for the referral portal; see README.md."""
from crm_sandbox.app import InstanceRoot, create_app

__all__ = ["InstanceRoot", "create_app"]
