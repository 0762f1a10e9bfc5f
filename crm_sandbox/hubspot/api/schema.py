"""Properties (FACTS §1.8) and pipelines (FACTS §1.7) endpoints."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from crm_sandbox import store
from crm_sandbox.hubspot import errors, object_types, pipelines, properties
from crm_sandbox.hubspot.api import gate

bp = Blueprint("schema", __name__)
gate.install(bp)

PROPS, PROPS_DATED = "/crm/v3/properties/<object_type>", "/crm/properties/2026-03/<object_type>"
PIPES, PIPES_DATED = "/crm/v3/pipelines/<object_type>", "/crm/pipelines/2026-03/<object_type>"


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise errors.validation("Invalid input JSON: expected a JSON object")
    return body


@gate.route(bp, PROPS, PROPS_DATED, methods=["GET"])
def list_properties(object_type):
    object_type = object_types.canonical(object_type)
    defs = properties.definitions(store.session(), object_type)
    return jsonify({"results": list(defs.values())})


@gate.route(bp, PROPS, PROPS_DATED, methods=["POST"])
def create_property(object_type):
    object_type = object_types.canonical(object_type)
    return jsonify(properties.create(store.session(), object_type, _body())), 201


@gate.route(bp, PROPS + "/groups", PROPS_DATED + "/groups", methods=["GET"])
def list_groups(object_type):
    return jsonify({"results": properties.groups(object_types.canonical(object_type))})


@gate.route(bp, PROPS + "/<name>", PROPS_DATED + "/<name>", methods=["GET"])
def read_property(object_type, name):
    return jsonify(properties.get(store.session(), object_types.canonical(object_type), name))


@gate.route(bp, PROPS + "/<name>", PROPS_DATED + "/<name>", methods=["PATCH"])
def update_property(object_type, name):
    object_type = object_types.canonical(object_type)
    return jsonify(properties.update(store.session(), object_type, name, _body()))


@gate.route(bp, PROPS + "/<name>", PROPS_DATED + "/<name>", methods=["DELETE"])
def archive_property(object_type, name):
    properties.archive(store.session(), object_types.canonical(object_type), name)
    return "", 204


@gate.route(bp, PIPES, PIPES_DATED, methods=["GET"])
def list_pipelines(object_type):
    return jsonify({"results": pipelines.all_pipelines(object_types.canonical(object_type))})


@gate.route(bp, PIPES + "/<pipeline_id>", PIPES_DATED + "/<pipeline_id>", methods=["GET"])
def read_pipeline(object_type, pipeline_id):
    return jsonify(pipelines.get(object_types.canonical(object_type), pipeline_id))


@gate.route(bp, PIPES + "/<pipeline_id>/stages", PIPES_DATED + "/<pipeline_id>/stages", methods=["GET"])
def list_stages(object_type, pipeline_id):
    return jsonify({"results": pipelines.get(object_types.canonical(object_type), pipeline_id)["stages"]})


@gate.route(bp, PIPES + "/<pipeline_id>/stages/<stage_id>",
            PIPES_DATED + "/<pipeline_id>/stages/<stage_id>", methods=["GET"])
def read_stage(object_type, pipeline_id, stage_id):
    pipeline = pipelines.get(object_types.canonical(object_type), pipeline_id)
    for stage in pipeline["stages"]:
        if stage["id"] == stage_id:
            return jsonify(stage)
    raise errors.not_found(f"Unable to find stage {stage_id} in pipeline {pipeline_id}")
