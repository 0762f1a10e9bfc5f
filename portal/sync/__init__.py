"""CRM sync: engine (push/pull), connectors, field mapping, qualification rules, HTTP."""
