"""Describe results (FACTS §2.7): fields with types and picklists, record type infos."""
from __future__ import annotations

from crm_sandbox.salesforce import fields, ids

_SOAP_TYPES = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
               "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
               "date": "xsd:date", "datetime": "xsd:dateTime"}


def field_json(sobject: fields.SObject, f: fields.Field) -> dict:
    return {
        "name": f.name, "label": f.label, "type": f.type, "length": f.length,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "nillable": f.nillable, "createable": f.createable, "updateable": f.updateable,
        "defaultedOnCreate": f.defaulted, "defaultValue": f.default_value,
        "externalId": f.external_id, "unique": f.unique,
        "idLookup": f.name == "Id" or f.external_id or f.name == "Email",
        "custom": f.custom, "filterable": True, "sortable": f.type != "textarea",
        "groupable": f.type not in ("textarea", "double", "currency", "percent", "datetime"),
        "calculated": False, "autoNumber": False, "caseSensitive": False, "nameField": f.name == "Name",
        "dependentPicklist": False, "cascadeDelete": False, "polymorphicForeignKey": f.name == "OwnerId",
        "precision": 18 if f.type in ("currency", "double", "percent") else 0,
        "scale": 2 if f.type in ("currency", "double", "percent") else 0,
        "digits": 9 if f.type == "int" else 0,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "restrictedPicklist": f.restricted,
        "picklistValues": [{"active": True, "defaultValue": default, "label": value, "validFor": None,
                            "value": value} for value, default in f.picklist],
    }


def record_type_json(sobject: fields.SObject, version: str, t: fields.RecordType) -> dict:
    return {"active": True, "available": True, "defaultRecordTypeMapping": t.default,
            "developerName": t.developer_name, "master": t.id == ids.MASTER_RECORD_TYPE,
            "name": t.name, "recordTypeId": t.id,
            "urls": {"layout": f"/services/data/{version}/sobjects/{sobject.name}/describe/layouts/{t.id}"}}


def basic(sobject: fields.SObject, version: str) -> dict:
    base = f"/services/data/{version}/sobjects/{sobject.name}"
    writable = not sobject.setup
    return {"name": sobject.name, "label": sobject.label, "labelPlural": sobject.plural,
            "keyPrefix": ids.PREFIXES[sobject.name], "custom": False, "createable": writable,
            "updateable": writable, "deletable": writable, "queryable": True, "retrieveable": True,
            "searchable": writable, "replicateable": writable,
            "urls": {"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}"}}


def describe(sobject: fields.SObject, version: str) -> dict:
    body = basic(sobject, version)
    body["fields"] = [field_json(sobject, f) for f in sobject.fields.values()]
    body["recordTypeInfos"] = [record_type_json(sobject, version, t) for t in sobject.record_types]
    body["childRelationships"] = [{"cascadeDelete": False, "childSObject": c.sobject, "field": c.field,
                                   "relationshipName": c.name, "restrictedDelete": False}
                                  for c in sobject.children]
    return body
