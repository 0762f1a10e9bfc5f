"""Record pages for people: server-rendered lists and record forms for each sandbox CRM."""
