"""Validates JSON against docs/check.schema.json with jsonschema.

Usage: schema.py FILE [DEFINITION] [PATH...]
FILE's JSON (or the value at PATH, keys one by one) is validated against
the schema, or against its definitions/DEFINITION ("-" for the whole).
Exit 0 when valid; else the first error on stderr and exit 1.
"""
import json
import os
import sys

import jsonschema

here = os.path.dirname(os.path.abspath(__file__))
schema = json.load(open(os.path.join(here, "..", "..", "docs", "check.schema.json")))
doc = json.load(open(sys.argv[1]))
name = sys.argv[2] if len(sys.argv) > 2 else "-"
for key in sys.argv[3:]:
    doc = doc[key]
if name != "-":
    schema = {"$ref": "#/definitions/" + name, "definitions": schema["definitions"]}
jsonschema.Draft7Validator.check_schema(schema)
errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
if errors:
    e = errors[0]
    print("%s: %s at %s" % (sys.argv[1], e.message, "/".join(map(str, e.absolute_path))),
          file=sys.stderr)
    sys.exit(1)
