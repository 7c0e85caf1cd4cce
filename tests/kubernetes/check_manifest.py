#!/usr/bin/env python3
"""Checks examples/kubernetes/segment-indexed-job.yaml offline against the Kubernetes API's own
models (Debian's python3-kubernetes, generated from the Kubernetes OpenAPI specification; no cluster
is needed): every field name must exist for its type, every value must have the field's type, and
required fields must be there (the models refuse None for them). Then what swinsmt needs of it: an
Indexed Job whose `completions` equals the `--shard-count` its command passes. Also checks that
manifests with an unknown field, a missing required field or a wrong type are refused, so the
check itself can fail.
  /usr/bin/python3 tests/kubernetes/check_manifest.py MANIFEST.yaml
"""
import copy
import re
import sys

import yaml
from kubernetes import client


class Invalid(Exception):
    pass


def check(value, type_name, path):
    if type_name.startswith("list["):
        if not isinstance(value, list):
            raise Invalid(f"{path}: expected a list of {type_name[5:-1]}, got {type(value).__name__}")
        for i, item in enumerate(value):
            check(item, type_name[5:-1], f"{path}[{i}]")
        return
    if type_name.startswith("dict("):
        inner = type_name[type_name.index(",") + 1:-1].strip()
        if not isinstance(value, dict):
            raise Invalid(f"{path}: expected a mapping, got {type(value).__name__}")
        for key, item in value.items():
            check(item, inner, f"{path}.{key}")
        return
    simple = {"str": str, "int": int, "bool": bool, "float": (int, float), "datetime": str}
    if type_name in simple:
        if not isinstance(value, simple[type_name]) or (type_name == "int" and isinstance(value, bool)):
            raise Invalid(f"{path}: expected {type_name}, got {value!r}")
        return
    if type_name == "object":
        return
    model = getattr(client, type_name)
    if not isinstance(value, dict):
        raise Invalid(f"{path}: expected a {type_name} mapping, got {value!r}")
    attribute_of = {key: attribute for attribute, key in model.attribute_map.items()}
    for key, item in value.items():
        if key not in attribute_of:
            raise Invalid(f"{path}: {type_name} has no field '{key}'")
        check(item, model.openapi_types[attribute_of[key]], f"{path}.{key}")
    try:  # required fields: the generated setters refuse None
        model(**{attribute_of[key]: item for key, item in value.items()})
    except ValueError as error:
        raise Invalid(f"{path}: {error}") from None


def check_manifest(document):
    api, kind = document.get("apiVersion"), document.get("kind")
    if (api, kind) != ("batch/v1", "Job"):
        raise Invalid(f"expected apiVersion batch/v1, kind Job; got {api}, {kind}")
    check(document, "V1Job", "Job")
    spec = document["spec"]
    if spec.get("completionMode") != "Indexed":
        raise Invalid("spec.completionMode must be Indexed (each pod gets JOB_COMPLETION_INDEX)")
    if spec["template"]["spec"].get("restartPolicy") not in ("Never", "OnFailure"):
        raise Invalid("a Job's pods need restartPolicy Never or OnFailure")
    command = " ".join(" ".join(c.get("command", []) + c.get("args", []))
                       for c in spec["template"]["spec"]["containers"])
    shard_count = re.search(r"--shard-count (\d+)", command)
    if not shard_count or int(shard_count.group(1)) != spec.get("completions"):
        raise Invalid(f"--shard-count in the command must equal completions ({spec.get('completions')})")


def main():
    with open(sys.argv[1]) as f:
        document = yaml.safe_load(f)
    check_manifest(document)
    # The check refuses what the API server would refuse.
    broken = []
    for edit in (lambda d: d["spec"].__setitem__("completion", 10),  # misspelt field
                 lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("name"),  # required
                 lambda d: d["spec"].__setitem__("parallelism", "four")):  # wrong type
        document_copy = copy.deepcopy(document)
        edit(document_copy)
        try:
            check_manifest(document_copy)
        except Invalid as error:
            broken.append(str(error))
            continue
        sys.exit("FAIL: a broken manifest passed the check")
    print(f"PASS: {sys.argv[1]} is a valid batch/v1 Indexed Job; refused broken copies: " + "; ".join(broken))


if __name__ == "__main__":
    try:
        main()
    except Invalid as error:
        sys.exit(f"FAIL: {error}")
