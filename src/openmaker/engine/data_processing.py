"""A transform job's DataProcessing: InputFilter, JoinSource and OutputFilter, as SageMaker defines them.

SageMaker's rules (developer guide, "Associate Prediction Results with Input Records"):

- Only CSV (``text/csv``) and JSON (``application/json``, ``application/jsonlines``) records take part.
  A CSV row is treated as a JSON array of its columns (RFC 4180 quoting), so only index paths apply
  to it (``$[0]``, ``$[1:]``, ``$[1,3,5]``).
- Paths use a subset of JSONPath: ``$``, ``.name``, ``*``, ``['a','b']``, ``[1,3]``, ``[-1]`` and
  slices. SageMaker documents a slice's end as *inclusive* (``$[1:4]`` is the second through the
  fifth column); jsonpath-ng slices like Python, so each compiled slice's end is moved by one.
- JoinSource ``Input`` joins each output record to the input record it came from, in the input's
  format: for CSV the input columns followed by the output columns; for JSON the output is added
  under ``SageMakerOutput`` to the input object, or, when the input is not an object, a new object
  ``{"SageMakerInput": input, "SageMakerOutput": output}``.
- OutputFilter selects from the joined record (or from the output record when nothing is joined).

Selections: a path ending in several named fields (``$['id','SageMakerOutput']``) builds an object of
those fields; slices, index lists and wildcards build an array; a single field or index gives its
value. On a CSV row the result is always a row.

When every option is at its default nothing is parsed: records pass through as bytes, which keeps
plain transforms (the common case) at copying speed. A CSV join without OutputFilter is also done on
bytes (``input + "," + output``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from jsonpath_ng import parse as parse_jsonpath
from jsonpath_ng.jsonpath import Child, Fields, Index, Slice, Wildcard

CSV_TYPES = ("text/csv",)
JSON_TYPES = ("application/json", "application/jsonlines", "application/x-jsonlines", "application/jsonl")


class DataProcessingError(Exception):
    """A record cannot be filtered or joined (wrong format, a path that selects nothing)."""


def data_format(content_type: str | None) -> str | None:
    """ "csv", "json" or None for a MIME type (parameters such as ``; charset`` ignored)."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base in CSV_TYPES:
        return "csv"
    if base in JSON_TYPES:
        return "json"
    return None


# --- JSONPath -------------------------------------------------------------------------------------


def _inclusive(node: Any) -> None:
    """Make every slice's end inclusive (SageMaker's documented meaning), in place."""
    if isinstance(node, Slice) and node.end is not None:
        node.end = None if node.end == -1 else node.end + 1
    for attr in ("left", "right"):
        child = getattr(node, attr, None)
        if child is not None:
            _inclusive(child)


@dataclass
class Path:
    text: str
    expr: Any
    shape: str  # "root" | "value" | "object" | "array"

    @property
    def identity(self) -> bool:
        return self.shape == "root"


def compile_path(text: str | None, where: str) -> Path:
    """Parse a DataProcessing path; raises ValueError with a message fit for a ValidationException."""
    text = (text or "$").strip()
    if not text.startswith("$"):
        raise ValueError(f"{where} {text!r} must start with '$' (a JSONPath such as $, $[1:] or $.features)")
    if text == "$":
        return Path(text, None, "root")
    try:
        expr = parse_jsonpath(text)
    except Exception as exc:  # the lexer and parser raise several kinds
        raise ValueError(f"{where} {text!r} is not a valid JSONPath expression: {exc}") from None
    _inclusive(expr)
    last = expr.right if isinstance(expr, Child) else expr
    if isinstance(last, Fields) and len(last.fields) > 1:
        shape = "object"
    elif (
        isinstance(last, Slice | Wildcard)
        or (isinstance(last, Index) and len(last.indices) > 1)
        or (isinstance(last, Fields) and last.fields == ("*",))
    ):
        shape = "array"
    else:
        shape = "value"
    return Path(text, expr, shape)


def select(path: Path, data: Any, is_row: bool) -> Any:
    """Apply a compiled path to one record's value (see the module docstring for the result shape)."""
    if path.identity:
        return data
    matches = path.expr.find(data)
    if not matches:
        raise DataProcessingError(f"the path {path.text} selects nothing from the record")
    if path.shape == "object" and not is_row:
        return {str(m.path.fields[0]) if hasattr(m.path, "fields") else str(m.path): m.value for m in matches}
    if path.shape == "value" and not is_row:
        return matches[0].value
    return [m.value for m in matches]


# --- records as values ----------------------------------------------------------------------------


def parse_row(line: bytes) -> list[str]:
    text = line.decode("utf-8")
    if '"' not in text:
        return text.split(",")
    return next(csv.reader([text]), [])


def format_row(values: list[Any]) -> bytes:
    cells = [v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for v in values]
    if not any(ch in cell for cell in cells for ch in ',"\n\r'):
        return ",".join(cells).encode("utf-8")
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue().encode("utf-8")


def parse_value(record: bytes, fmt: str) -> Any:
    if fmt == "csv":
        return parse_row(record)
    try:
        return json.loads(record)
    except ValueError as exc:
        raise DataProcessingError(f"a record is not valid JSON: {exc}") from None


def format_value(value: Any, fmt: str) -> bytes:
    if fmt == "csv":
        return format_row(value if isinstance(value, list) else [value])
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


# --- the whole DataProcessing ---------------------------------------------------------------------


class DataProcessing:
    """One job's DataProcessing, compiled once; see the module docstring."""

    def __init__(self, spec: dict[str, Any] | None, content_type: str | None) -> None:
        spec = spec or {}
        self.input_filter = compile_path(spec.get("InputFilter"), "InputFilter")
        self.output_filter = compile_path(spec.get("OutputFilter"), "OutputFilter")
        self.join = (spec.get("JoinSource") or "None") == "Input"
        self.input_format = data_format(content_type)
        if (self.join or not self.input_filter.identity) and self.input_format is None:
            raise DataProcessingError(
                f"InputFilter and JoinSource need CSV or JSON input (ContentType text/csv, application/json "
                f"or application/jsonlines), not {content_type or 'no ContentType'}"
            )

    @property
    def filters_input(self) -> bool:
        return not self.input_filter.identity

    @property
    def touches_output(self) -> bool:
        """True when outputs must be split per record (a join or an OutputFilter)."""
        return self.join or not self.output_filter.identity

    def filter_input(self, record: bytes) -> bytes:
        if self.input_filter.identity:
            return record
        assert self.input_format is not None
        value = parse_value(record, self.input_format)
        chosen = select(self.input_filter, value, self.input_format == "csv")
        return format_value(chosen, self.input_format)

    def assemble(
        self, inputs: list[bytes] | None, outputs: list[bytes], output_type: str | None
    ) -> list[bytes]:
        """The records to write for one batch: each output joined and/or filtered."""
        out_format = data_format(output_type)
        if self.join:
            assert inputs is not None and self.input_format is not None
            if self.input_format == "csv" and out_format == "csv" and self.output_filter.identity:
                return [i + b"," + o for i, o in zip(inputs, outputs, strict=True)]
            joined = [self._join(i, o, out_format) for i, o in zip(inputs, outputs, strict=True)]
            fmt = self.input_format
        else:
            if out_format is None:
                raise DataProcessingError(
                    f"OutputFilter needs CSV or JSON output from the model, not {output_type or 'no content type'}"
                )
            joined = [parse_value(o, out_format) for o in outputs]
            fmt = out_format
        return [format_value(select(self.output_filter, value, fmt == "csv"), fmt) for value in joined]

    def _join(self, original: bytes, output: bytes, out_format: str | None) -> Any:
        assert self.input_format is not None
        source = parse_value(original, self.input_format)
        if out_format == "json":
            result: Any = parse_value(output, "json")
        elif out_format == "csv" and self.input_format == "csv":
            result = parse_row(output)
        else:
            result = output.decode("utf-8", errors="replace")
        if self.input_format == "csv":
            return source + (result if isinstance(result, list) and out_format == "csv" else [result])
        if isinstance(source, dict):
            return {**source, "SageMakerOutput": result}
        return {"SageMakerInput": source, "SageMakerOutput": result}


def split_output(body: bytes, count: int, output_type: str | None) -> list[bytes]:
    """One model answer cut into one output per input record (needed to join or filter per record).

    Each line is a record's output. An answer on one line for several records may be a JSON array
    of them, or an object holding one such array (``{"predictions": [...]}``, as the built-in
    algorithms answer ``application/json``): its elements are the records' outputs.
    """
    if count == 1:
        return [body.rstrip(b"\r\n")]
    lines = [line.rstrip(b"\r") for line in body.split(b"\n") if line.strip()]
    if len(lines) == count:
        return lines
    if len(lines) == 1 and data_format(output_type) == "json":
        try:
            value = json.loads(lines[0])
        except ValueError:
            value = None
        if isinstance(value, dict) and len(value) == 1:
            value = next(iter(value.values()))
        if isinstance(value, list) and len(value) == count:
            return [json.dumps(item, separators=(",", ":")).encode("utf-8") for item in value]
    raise DataProcessingError(
        f"the model answered {len(lines)} output lines for {count} input records; joining or filtering "
        "outputs needs one output line per record (or use BatchStrategy SingleRecord)"
    )
