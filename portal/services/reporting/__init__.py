"""The report engine (one for every entity), saved views and exports."""
from portal.services.reporting.fields import ENTITIES, Entity, Field, register
from portal.services.reporting.query import Filter, Page, Report, ReportState, Totals, available_entities, build, entity

__all__ = ["ENTITIES", "Entity", "Field", "Filter", "Page", "Report", "ReportState", "Totals", "available_entities",
           "build", "entity", "register"]
