"""Deal pipelines: the default pipeline with HubSpot's standard stages (FACTS §1.7)."""
from __future__ import annotations

from crm_sandbox.hubspot import errors

DEFAULT_PIPELINE = "default"

# (id, label, probability, isClosed). Metadata values are strings in HubSpot's answers.
_STAGES = [
    ("appointmentscheduled", "Appointment scheduled", "0.2", "false"),
    ("qualifiedtobuy", "Qualified to buy", "0.4", "false"),
    ("presentationscheduled", "Presentation scheduled", "0.6", "false"),
    ("decisionmakerboughtin", "Decision maker bought-in", "0.8", "false"),
    ("contractsent", "Contract sent", "0.9", "false"),
    ("closedwon", "Closed won", "1.0", "true"),
    ("closedlost", "Closed lost", "0.0", "true"),
]

# "The default pipelines will have createdAt = 0" [FACTS §1.7].
_EPOCH = "1970-01-01T00:00:00Z"


def _stage(order: int, stage_id: str, label: str, probability: str, closed: str) -> dict:
    return {"id": stage_id, "label": label, "displayOrder": order,
            "metadata": {"isClosed": closed, "probability": probability},
            "archived": False, "createdAt": _EPOCH, "updatedAt": _EPOCH,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT"}


PIPELINES = {
    DEFAULT_PIPELINE: {
        "id": DEFAULT_PIPELINE, "label": "Sales Pipeline", "displayOrder": 0, "archived": False,
        "createdAt": _EPOCH, "updatedAt": _EPOCH,
        "stages": [_stage(i, *row) for i, row in enumerate(_STAGES)],
    }
}


def all_pipelines(object_type: str) -> list[dict]:
    if object_type != "deals":
        # Contacts and companies have no pipelines; HubSpot answers an empty list for them.
        return []
    return list(PIPELINES.values())


def get(object_type: str, pipeline_id: str) -> dict:
    for pipeline in all_pipelines(object_type):
        if pipeline["id"] == pipeline_id:
            return pipeline
    raise errors.not_found(f"Unable to find pipeline {pipeline_id}")


def stage(pipeline_id: str, stage_id: str) -> dict | None:
    pipeline = PIPELINES.get(pipeline_id)
    if pipeline is None:
        return None
    return next((s for s in pipeline["stages"] if s["id"] == stage_id), None)


def stage_options() -> list[dict]:
    """Every stage of every pipeline as enumeration options of the `dealstage` property."""
    return [{"label": s["label"], "value": s["id"], "displayOrder": s["displayOrder"],
             "hidden": False, "description": ""}
            for p in PIPELINES.values() for s in p["stages"]]


def pipeline_options() -> list[dict]:
    return [{"label": p["label"], "value": p["id"], "displayOrder": p["displayOrder"],
             "hidden": False, "description": ""} for p in PIPELINES.values()]
