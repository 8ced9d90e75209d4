#!/usr/bin/env python3
"""Converts Sigma rule files to DuckDB SQL with pySigma's DuckDB backend (pysigma-backend-duckdb).

    .tools/bin/python scripts/sigma/to-duckdb-sql.py FILE_OR_DIR... > rules.json

Prints a JSON list, one entry per rule (correlation rules included):
    {"file", "id", "title", "kind": "rule"|"correlation", "fields": [...], "sql", "markedSql"} or {..., "error"}
`fields` are the field names the rule's detection reads, so the caller can build the flattened table
the SQL expects: the backend quotes a dotted name as one column ("userIdentity.arn"), it does not
walk nested JSON. `sql` is the backend's output, unchanged. `markedSql` is the same conversion with
every wildcard written as U+E000 (Sigma's * and the % of the startswith/endswith/contains templates)
or U+E001 (Sigma's ?) instead of % and _, because in `sql` a wildcard and a literal % or _ of the
rule's value look alike; the caller corrects `markedSql`
(scripts/sigma/duckdb-sql.js) and checks that it is `sql` once the marks are replaced.
"""
import json
import sys
from pathlib import Path

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma_backend_duckdb import DuckDBBackend


class MarkedWildcardsBackend(DuckDBBackend):
    """The backend with its wildcards replaced by marks that no rule value contains."""

    wildcard_multi = "\ue000"
    wildcard_single = "\ue001"
    startswith_expression = "{field} ILIKE '{value}\ue000'"
    endswith_expression = "{field} ILIKE '\ue000{value}'"
    contains_expression = "{field} ILIKE '\ue000{value}\ue000'"


def rule_files(args):
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml"))
        else:
            yield path


def detection_fields(rule):
    """Every field name in the rule's detection, including the targets of fieldref."""
    fields = set()

    def walk(item):
        if isinstance(item, SigmaDetection):
            for child in item.detection_items:
                walk(child)
        elif isinstance(item, SigmaDetectionItem):
            if item.field:
                fields.add(item.field)
            for value in item.value:
                if type(value).__name__ == "SigmaFieldReference":
                    fields.add(value.field)

    for detection in rule.detection.detections.values():
        walk(detection)
    return sorted(fields)


def correlation_of(rule):
    """What the backend's correlation SQL leaves out or gets wrong, for the caller to write it (duckdb-sql.js)."""
    if rule.aliases and rule.aliases.aliases:
        raise ValueError("aliases are not supported by this check")
    return {
        "type": rule.type.name.lower(),
        "rules": [str(ref.rule.id) for ref in rule.rules],
        "groupBy": list(rule.group_by or []),
        "timespanSeconds": rule.timespan.seconds,
        "condition": None
        if rule.condition is None
        else {"op": rule.condition.op.name.lower(), "count": rule.condition.count, "field": getattr(rule.condition, "fieldref", None)},
    }


def main():
    out = []
    for path in rule_files(sys.argv[1:]):
        try:
            collection = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"))
        except Exception as error:  # a file pySigma cannot parse is reported, not fatal
            out.append({"file": str(path), "id": None, "title": None, "error": f"{type(error).__name__}: {error}"})
            continue
        # A fresh backend per file: a correlation rule resolves the rules it references within its collection.
        collection.resolve_rule_references()
        backend = DuckDBBackend()
        marked = MarkedWildcardsBackend()
        for rule in collection.rules:
            entry = {"file": str(path), "id": str(rule.id) if rule.id else None, "title": rule.title}
            if isinstance(rule, SigmaCorrelationRule):
                entry["kind"] = "correlation"
                entry["correlation"] = correlation_of(rule)
            else:
                entry["kind"] = "rule"
                entry["fields"] = detection_fields(rule)
            try:
                convert = "convert_correlation_rule" if isinstance(rule, SigmaCorrelationRule) else "convert_rule"
                # pySigma emits nothing for a rule a correlation refers to (generate: false); its own
                # matches are what the correlation counts, so it is converted on its own
                queries = getattr(backend, convert)(rule) or backend.convert_rule(SigmaRule.from_dict(rule.to_dict()))
                entry["sql"] = queries[0] if len(queries) == 1 else queries
                marked_queries = getattr(marked, convert)(rule) or marked.convert_rule(SigmaRule.from_dict(rule.to_dict()))
                entry["markedSql"] = marked_queries[0] if len(marked_queries) == 1 else marked_queries
            except Exception as error:
                entry["error"] = f"{type(error).__name__}: {error}"
            out.append(entry)
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
