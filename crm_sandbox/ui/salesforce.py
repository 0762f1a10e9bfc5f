"""Salesforce record pages (placeholder until the UI lands)."""
from flask import Blueprint

bp = Blueprint("ui", __name__, url_prefix="/ui")
