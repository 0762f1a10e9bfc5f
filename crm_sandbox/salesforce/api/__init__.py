"""Salesforce REST and OAuth endpoints, by area."""
