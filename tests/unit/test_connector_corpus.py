"""One truth for editors (issue 17, acceptance 4): a standard JSON Schema validator (python-jsonschema,
Draft 2020-12) with catalog/connector.schema.json and the product's own loading agree on a corpus
of connector files, tests/fixtures/connectors:

- valid/: both accept (Cyclr's spellings among them: "GET", DisplayName, its ignored properties);
- invalid/: both refuse, and at the same place;
- beyond-schema/: the product refuses for what JSON Schema cannot say (the whole document, or a
  script, decides); the schema accepts them, and this lists exactly which those are.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from connectors import ConnectorInvalid, parse_connector
from connectors.paths import PATTERN, parse_path
from connectors.schema import CATALOG_COPY

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "connectors"
CATALOG = CATALOG_COPY.parent / "connectors"
SCHEMA = json.loads(CATALOG_COPY.read_text())
VALIDATOR = Draft202012Validator(SCHEMA)


def files(folder: str) -> list[Path]:
    return sorted((CORPUS / folder).glob("*.json"))


def schema_errors(document) -> list[str]:
    """Where the schema finds the document wrong, as JSON paths like the product's: of an error
    in one of several branches (anyOf: a format or null), the branches' own errors."""
    def leaves(errors):
        for error in errors:
            yield from leaves(error.context) if error.context else [error]

    return sorted({"$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
                   for e in leaves(VALIDATOR.iter_errors(document))})


def product_problems(document) -> list[str]:
    try:
        parse_connector(document)
    except ConnectorInvalid as err:
        return [p.path for p in err.problems]
    return []


def parent(path: str) -> str:
    return re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", path)


def test_the_corpus_is_large_enough():
    assert len(files("valid")) >= 30 and len(files("invalid")) >= 30


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("file", files("valid") + sorted(CATALOG.glob("*.json")), ids=lambda f: f.stem)
def test_both_accept_a_valid_connector(file):
    document = json.loads(file.read_text())
    assert (schema_errors(document), product_problems(document)) == ([], [])


@pytest.mark.parametrize("file", files("invalid"), ids=lambda f: f.stem)
def test_both_refuse_an_invalid_connector_at_the_same_place(file):
    document = json.loads(file.read_text())
    schema, product = schema_errors(document), product_problems(document)
    assert schema and product, f"schema: {schema}, product: {product}"
    # The same place: one property, two of one object, or an object and one of its properties.
    assert any(s == p or parent(s) == parent(p) or s == parent(p) or p == parent(s) for s in schema for p in product), \
        f"schema: {schema}, product: {product}"


@pytest.mark.parametrize("file", files("beyond-schema"), ids=lambda f: f.stem)
def test_what_only_the_whole_document_shows_is_the_products_alone(file):
    document = json.loads(file.read_text())
    assert schema_errors(document) == [] and product_problems(document) != []


def test_the_field_path_pattern_is_the_parsers_grammar():
    """Every text of up to six characters from those that matter: the pattern matches exactly
    those parse_path accepts."""
    pattern = re.compile(PATTERN)
    differ = []
    for n in range(7):
        for text in map("".join, itertools.product("a.[]\\\n", repeat=n)):
            try:
                parse_path(text)
                parsed = True
            except ValueError:
                parsed = False
            if parsed != bool(pattern.search(text)):
                differ.append(text)
    assert differ == []
