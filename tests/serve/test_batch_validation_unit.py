"""/predict/batch validates its films a field at a time, and accepts only what the model does.

``read_batch`` decodes the body once and hands the items to
``inputs.ColumnValidator``, which validates each field of every film with the
model's own core schema; anything it does not take goes through ``BatchRequest``,
whose 422 the client gets. These tests draw bodies from valid and hostile values
(wrong types, bounds, patterns, NaN tokens, dates pydantic reads leniently,
unknown and missing fields, non-object items, odd top levels) and hold the fast
path to the model: whatever it accepts, ``BatchRequest`` accepts with the same
values, of the same types; and valid batches do take the fast path. The fast
path decodes with orjson: it reads JSON texts as pydantic-core does, or refuses them.
"""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import from_json

from tests.common.test_request_columns import ITEM
from tmdb_mlops.inputs import (
    EXAMPLES,
    INPUT_COLUMNS,
    ColumnValidator,
    MovieFeatures,
    field_columns,
)
from tmdb_serve.routers.predict import BATCH_FIELDS, batch_items
from tmdb_serve.schemas import BatchRequest

pytestmark = pytest.mark.unit

HYPOTHESIS = settings(max_examples=150, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])

WRONG = st.sampled_from([None, True, False, 0, -1, 1.5, 1e400, -0.0, "", " ", "x" * 301,
                         [], ["a"], {}, {"a": 1}, "NaN", "120", "2014-03-01"])
SHORT_TEXT = st.text(max_size=5)
HOSTILE = {
    "title": st.one_of(SHORT_TEXT, WRONG),
    "release_date": st.one_of(
        st.sampled_from(["2014-02-30", "2014-03-01T00:00:00", "2014-03-01T10:00:00Z",
                         "1577836800", "20140301", "1873-12-31", "2101-01-01", "2100-12-31",
                         "1874-01-01", " 2014-03-01", "2014-3-1", "2014-03-01\n"]),
        st.integers(-10**10, 10**10), st.floats(), WRONG),
    "genres": st.one_of(st.lists(st.sampled_from(["Drama", "drama", "", "TV Movie", 5]),
                                 max_size=21), WRONG),
    "runtime": st.one_of(st.sampled_from([0, 1, 1000, 1001, 0.5, 1000.0000001, math.inf,
                                          math.nan, "95", True]), st.floats(), WRONG),
    "original_language": st.one_of(st.sampled_from(["en", "EN", "e", "eng", "en\n", "é1"]),
                                   WRONG),
    "overview": st.one_of(st.sampled_from(["", "x" * 5000, "x" * 5001]), SHORT_TEXT, WRONG),
    "budget": st.one_of(st.sampled_from([0, -0.0, -1, 1e10, 1e10 + 1, 10**10, 10**30,
                                         math.nan, "0"]), WRONG),
    "production_countries": st.one_of(
        st.lists(st.sampled_from(["US", "us", "USA", "U", "US\n", "ÜS", 1]), max_size=51),
        WRONG),
    "director": st.one_of(st.sampled_from(["", "x" * 201, "A|B", "Jo"]), SHORT_TEXT, WRONG),
    "cast": st.one_of(st.lists(st.sampled_from(["", "A|B", "x" * 201, " ", "Tom", 7, None]),
                               max_size=51), WRONG),
    "writers": st.one_of(st.lists(st.sampled_from(["", "|", "Ann", "Ann\n"]), max_size=21),
                         WRONG),
    "production_companies": st.one_of(st.lists(st.sampled_from(["", "Studio|", "S"]),
                                               max_size=21), WRONG),
    "certification": st.one_of(st.sampled_from(["PG-13", "pg-13", "X", "NR ", ""]), WRONG),
    "unknown": WRONG,
}
@st.composite
def _spoilt(draw: st.DrawFn) -> dict[str, Any]:
    """A valid film with one to three fields made hostile or dropped."""
    item = dict(draw(ITEM))
    for name in draw(st.lists(st.sampled_from(sorted(HOSTILE)), min_size=1, max_size=3,
                              unique=True)):
        if draw(st.booleans()):
            item.pop(name, None)
        else:
            item[name] = draw(HOSTILE[name])
    return item


HOSTILE_ITEM = st.one_of(ITEM, _spoilt(), st.sampled_from([None, 1, "film", [], [EXAMPLES[0]]]))


def _same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down (118 is not 118.0), NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def _model_fields(body: bytes) -> dict[str, list[Any]] | None:
    try:
        batch = BatchRequest.model_validate_json(body)
    except ValidationError:
        return None
    return field_columns(batch.items)


@HYPOTHESIS
@given(items=st.lists(HOSTILE_ITEM, min_size=1, max_size=6))
def test_what_the_fast_path_accepts_the_model_accepts_with_the_same_values(items) -> None:
    body = json.dumps({"items": items}, allow_nan=True).encode()
    expected = _model_fields(body)
    decoded = batch_items(body)
    if decoded is None:  # NaN, Infinity, 1e400: orjson refuses them, the model answers
        assert b"NaN" in body or b"Infinity" in body
        return
    fast = BATCH_FIELDS.validate(decoded)
    if fast is not None:
        assert expected is not None, "the fast path accepted what BatchRequest refuses"
        assert set(fast) == set(INPUT_COLUMNS)
        for name in INPUT_COLUMNS:
            assert _same(fast[name], expected[name]), name


@HYPOTHESIS
@given(items=st.lists(ITEM, min_size=1, max_size=20))
def test_valid_batches_take_the_fast_path(items) -> None:
    body = json.dumps({"items": items}).encode()
    fast = BATCH_FIELDS.validate(batch_items(body))
    assert fast is not None
    expected = _model_fields(body)
    assert all(_same(fast[name], expected[name]) for name in INPUT_COLUMNS)
    assert all(type(d) is date for d in fast["release_date"])


@pytest.mark.parametrize("body", [
    b'{"items": []}', b'{"items": {}}', b'{"items": null}', b'[]', b'"items"', b'{}',
    b'{"items": [{}], "extra": 1}', b'{"items": [', b'NaN', b'{"items": [1]} x',
])
def test_top_levels_batch_request_refuses_never_reach_the_fast_path(body: bytes) -> None:
    assert batch_items(body) is None
    assert _model_fields(body) is None


@pytest.mark.parametrize("body", [
    b'{"items": [1, 2]}', b'{"items": [{}]}',
    b'{"items": [{"title": "A", "release_date": "2014-03-01", "runtime": NaN}]}',
    b'{"items": [{"title": "A", "release_date": "2014-03-01", "runtime": Infinity}]}',
    b'{"items": [{"title": "A", "release_date": "2014-03-01", "budget": 1e400}]}',
])
def test_items_batch_request_refuses_are_refused_by_the_fast_path(body: bytes) -> None:
    items = batch_items(body)
    assert items is None or BATCH_FIELDS.validate(items) is None
    assert _model_fields(body) is None


# --- the decoder: orjson feeds the fast path, pydantic-core the model ---------------------

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**63, 2**64 - 1), st.floats(allow_nan=False),
    st.text(), st.sampled_from(["\u0000", "\ud83c\udfac", "é", "\\", '"', "2014-03-01"]))
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=4), inner, max_size=4)),
    max_leaves=20)


def _decoded_alike(text: bytes) -> None:
    """orjson refuses the text, or reads what pydantic-core reads, types included (but for
    an integer beyond 64 bits, a float to orjson)."""
    try:
        ours = orjson.loads(text)
    except orjson.JSONDecodeError:
        return
    assert _same_json(ours, from_json(text))


def _same_json(a: Any, b: Any) -> bool:
    if type(b) is int and not -2**63 <= b < 2**64:
        # orjson reads it as a float; every field refuses both (a test below). The other
        # difference, nesting pydantic-core refuses, makes from_json raise: its own test.
        return type(a) is float and a == float(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


@settings(max_examples=400, deadline=None)
@given(value=JSON_VALUES, ensure_ascii=st.booleans())
def test_orjson_reads_json_as_pydantic_core_does(value: Any, ensure_ascii: bool) -> None:
    # surrogatepass: a lone surrogate written raw is invalid UTF-8, which both must refuse
    _decoded_alike(json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass"))


@settings(max_examples=400, deadline=None)
@given(number=st.from_regex(r"\A-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][-+]?[0-9]{1,3})?\Z"))
def test_orjson_reads_number_texts_as_pydantic_core_does(number: str) -> None:
    _decoded_alike(number.encode())
    _decoded_alike(f'{{"a": [{number}]}}'.encode())


@pytest.mark.parametrize("text", [
    b'{"a": 1, "a": 2}', b'"\\ud800"', b'"\\udc00x"', b'"\xff"', b'"\xed\xa0\x80"', b"-0",
    b"-0.0", b"1E400", b"-1e400", b"4.9e-324", b"1e-400", b"[1,]", b'{"a":1,}', b"01",
    b"1.", b".5", b"+1", b" [1] ", b"[1] x", b"\xef\xbb\xbf[1]", b"nan", b"true ",
    b'"\t"', b'"a\u0000b"', b"[" * 150 + b"]" * 150,
    b"[" * 2000 + b"]" * 2000,
])
def test_orjson_refuses_or_agrees_on_hostile_texts(text: bytes) -> None:
    _decoded_alike(text)


def test_nesting_deeper_than_pydantic_core_reads_is_refused_by_both_paths() -> None:
    """orjson reads 1,024 levels, pydantic-core 200: no field takes a nested value."""
    deep = "[" * 300 + "]" * 300
    assert orjson.loads(deep)
    with pytest.raises(ValueError, match="recursion limit"):
        from_json(deep)
    valid = json.dumps(EXAMPLES[0])[1:-1]
    for name in INPUT_COLUMNS:
        body = f'{{"items": [{{{valid}, "{name}": {deep}}}]}}'.encode()
        assert _model_fields(body) is None, name
        items = batch_items(body)
        assert items is not None and BATCH_FIELDS.validate(items) is None, name


def test_an_integer_orjson_reads_as_a_float_is_refused_by_the_model_anywhere() -> None:
    """orjson reads an integer beyond 64 bits as a float, pydantic-core as an int: no
    field takes either (every number is bounded far below 2**63), so both paths refuse it."""
    huge = 2**64
    assert type(orjson.loads(str(huge).encode())) is float
    valid = json.loads(json.dumps(EXAMPLES[0]))
    for name in INPUT_COLUMNS:
        for value in (huge, -huge, [huge]):
            body = json.dumps({"items": [{**valid, name: value}]}).encode()
            assert _model_fields(body) is None, name
            items = batch_items(body)
            assert items is None or BATCH_FIELDS.validate(items) is None, name


def test_a_repeated_key_reads_as_the_model_reads_it() -> None:
    body = b'{"items": [{"title": 5, "release_date": "2014-03-01", "title": "B"}]}'
    fast = BATCH_FIELDS.validate(batch_items(body))
    expected = _model_fields(body)
    assert fast is not None and expected is not None
    assert fast["title"] == expected["title"] == ["B"]


def test_batch_items_holds_to_batch_requests_definition() -> None:
    """A tripwire: ``batch_items`` writes BatchRequest's top-level rules down; keep them one."""
    schema = BatchRequest.model_json_schema()
    assert BatchRequest.__pydantic_core_schema__["type"] == "model"  # no model validator
    assert BatchRequest.model_config.get("extra") == "forbid"
    assert list(BatchRequest.model_fields) == ["items"]
    assert schema["properties"]["items"].get("minItems") == 1
    assert set(schema["properties"]["items"]) <= {"items", "minItems", "title", "type"}


def test_movie_features_stays_validatable_field_by_field() -> None:
    """A tripwire: if MovieFeatures gains a model validator, an alias or the like, the
    batch route silently loses its fast path; this says so."""
    assert isinstance(BATCH_FIELDS, ColumnValidator)
    ColumnValidator(MovieFeatures)


class _WithModelValidator(BaseModel):
    a: int

    @model_validator(mode="after")
    def _check(self) -> _WithModelValidator:
        return self


class _WithPostInit(BaseModel):
    a: int

    def model_post_init(self, context: Any) -> None:
        if self.a > 3:
            raise ValueError("too big")


class _WithInfoValidator(BaseModel):
    a: int
    b: int

    @field_validator("b")
    @classmethod
    def _after_a(cls, value: int, info: ValidationInfo) -> int:
        return value + info.data["a"]


class _WithAlias(BaseModel):
    a: int = Field(alias="A")


@pytest.mark.parametrize("model", [_WithModelValidator, _WithPostInit, _WithInfoValidator,
                                   _WithAlias])
def test_models_whose_fields_cannot_be_validated_one_at_a_time_are_refused(model) -> None:
    with pytest.raises(TypeError, match="one at a time"):
        ColumnValidator(model)


def test_a_validator_that_fails_oddly_leaves_the_batch_to_the_model() -> None:
    class Odd(BaseModel):
        a: int

        @field_validator("a")
        @classmethod
        def _odd(cls, value: int) -> int:
            if value == 7:
                raise RuntimeError("not a validation error")
            return value

    validator = ColumnValidator(Odd)
    assert validator.validate([{"a": 1}, {"a": 2}]) == {"a": [1, 2]}
    assert validator.validate([{"a": 1}, {"a": 7}]) is None
