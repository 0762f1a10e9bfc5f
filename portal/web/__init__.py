"""Web helpers the blueprints share: the form base, htmx responses, referral form building, charts,
template filters, role guards and error pages. Nothing here changes state."""
