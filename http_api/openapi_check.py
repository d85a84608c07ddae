"""Validate real responses against the OpenAPI document (what the tests use).

A small JSON Schema (2020-12) validator for the subset the document uses: ``$ref`` into
``#/components/schemas``, ``type`` (one or a list), ``properties``/``required``/
``additionalProperties``, ``items``, ``enum``, ``const``, ``minimum``/``maximum``,
``minLength``/``maxLength``, ``minItems``/``maxItems``, ``minProperties``, ``pattern``,
``format: date-time``, ``oneOf``/``anyOf``/``allOf``.
Writing it was cheaper than the alternative: ``jsonschema`` would bring ``referencing`` and the
compiled ``rpds-py`` into the test environment for the same ~150 lines of checks, and an
unknown keyword here raises instead of being ignored, so the document cannot use a feature the
check silently skips.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

Schema = dict[str, Any]

_KNOWN = {
    "$ref",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "maxItems",
    "minItems",
    "minProperties",
    "pattern",
    "format",
    "oneOf",
    "anyOf",
    "allOf",
    "description",
    "contentEncoding",
}
_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


class SchemaViolation(AssertionError):
    pass


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    kind = _TYPES.get(name)
    if kind is None:
        raise SchemaViolation(f"unknown type {name!r} in the schema")
    return isinstance(value, kind)


def _resolve(document: dict[str, Any], reference: str) -> Schema:
    prefix = "#/components/schemas/"
    if not reference.startswith(prefix):
        raise SchemaViolation(f"unsupported $ref {reference!r}")
    schema: Schema = document["components"]["schemas"][reference[len(prefix) :]]
    return schema


def validate(document: dict[str, Any], schema: Schema, value: Any, path: str = "$") -> list[str]:
    """Every violation of ``schema`` by ``value`` (empty when it conforms)."""
    unknown = set(schema) - _KNOWN
    if unknown:
        raise SchemaViolation(f"{path}: schema uses unsupported keywords {sorted(unknown)}")
    if "$ref" in schema:
        return validate(document, _resolve(document, schema["$ref"]), value, path)
    errors: list[str] = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, name) for name in names):
            return [f"{path}: expected {'/'.join(names)}, got {type(value).__name__} {value!r:.60}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} > maximum {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']}")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") == "date-time" and not _is_datetime(value):
            errors.append(f"{path}: {value!r} is not an RFC 3339 date-time")
    if isinstance(value, dict):
        errors += _validate_object(document, schema, value, path)
    if isinstance(value, list) and "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{path}: more than {schema['maxItems']} items")
    if isinstance(value, list) and "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(f"{path}: fewer than {schema['minItems']} items")
    if isinstance(value, dict) and len(value) < schema.get("minProperties", 0):
        errors.append(f"{path}: fewer than {schema['minProperties']} properties")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += validate(document, schema["items"], item, f"{path}[{index}]")
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            passing = [not validate(document, s, value, path) for s in schema[combinator]]
            count = sum(passing)
            if combinator == "oneOf" and count != 1:
                errors.append(f"{path}: matches {count} of oneOf's schemas, expected exactly 1")
            if combinator == "anyOf" and count == 0:
                errors.append(f"{path}: matches none of anyOf's schemas")
    for sub in schema.get("allOf", []):
        errors += validate(document, sub, value, path)
    return errors


def _validate_object(
    document: dict[str, Any], schema: Schema, value: dict[str, Any], path: str
) -> list[str]:
    errors: list[str] = []
    properties: dict[str, Schema] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            errors.append(f"{path}: missing required property {name!r}")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            errors += validate(document, properties[name], item, f"{path}.{name}")
        elif extra is False:
            errors.append(f"{path}: unexpected property {name!r}")
        elif isinstance(extra, dict):
            errors += validate(document, extra, item, f"{path}.{name}")
    return errors


def _is_datetime(text: str) -> bool:
    if "T" not in text:
        return False
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


def match_path(document: dict[str, Any], path: str) -> str:
    """The path template of the document that ``path`` (a real request path) matches."""
    for template in document["paths"]:
        assert isinstance(template, str)
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path):
            return template
    raise SchemaViolation(f"{path} matches no path of the document")


def response_schema(
    document: dict[str, Any], method: str, path: str, status: int, content_type: str
) -> Schema:
    template = match_path(document, path)
    operation = document["paths"][template].get(method.lower())
    if operation is None:
        raise SchemaViolation(f"{method} {template} is not in the document")
    responses = operation["responses"]
    response = responses.get(str(status)) or responses.get("default")
    if response is None:
        raise SchemaViolation(f"{method} {template} documents no {status} response")
    content = response.get("content", {})
    if content_type not in content:
        raise SchemaViolation(
            f"{method} {template} {status} documents {sorted(content)}, not {content_type}"
        )
    schema: Schema = content[content_type]["schema"]
    return schema


def check_response(
    document: dict[str, Any],
    method: str,
    path: str,
    status: int,
    content_type: str,
    body: Any,
) -> None:
    """Raises SchemaViolation listing every way ``body`` differs from the document."""
    schema = response_schema(document, method, path, status, content_type)
    errors = validate(document, schema, body)
    if errors:
        raise SchemaViolation(f"{method} {path} → {status}:\n  " + "\n  ".join(errors))


def check_document(document: dict[str, Any]) -> list[str]:
    """Structural checks of the document itself: every $ref resolves, every operation has an
    operationId (unique) and responses, path parameters are declared."""
    problems: list[str] = []
    seen: set[str] = set()

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                try:
                    _resolve(document, node["$ref"])
                except (SchemaViolation, KeyError):
                    problems.append(f"{where}: unresolved {node['$ref']}")
            for key, item in node.items():
                walk(item, f"{where}/{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{where}/{index}")

    walk(document, "#")
    for template, item in document["paths"].items():
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        wanted = set(re.findall(r"\{([^}]+)\}", template))
        for method, operation in item.items():
            if method == "parameters":
                continue
            names = declared | {
                p["name"] for p in operation.get("parameters", []) if p["in"] == "path"
            }
            if wanted - names:
                problems.append(f"{method.upper()} {template}: undeclared {sorted(wanted - names)}")
            op_id = operation.get("operationId")
            if not op_id or op_id in seen:
                problems.append(f"{method.upper()} {template}: missing or duplicate operationId")
            seen.add(op_id or "")
            if not operation.get("responses"):
                problems.append(f"{method.upper()} {template}: no responses")
    return problems


__all__ = [
    "SchemaViolation",
    "check_document",
    "check_response",
    "match_path",
    "response_schema",
    "validate",
]
