"""The internal blueprint object; its views live in the modules beside this one."""
from flask import Blueprint

from portal.web.guards import restrict_blueprint

bp = Blueprint("internal", __name__)
restrict_blueprint(bp, "internal")
