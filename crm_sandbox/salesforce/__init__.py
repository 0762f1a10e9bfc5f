"""The Salesforce sandbox; `crm_sandbox.salesforce.blueprint` assembles it."""
