"""Data distribution comparison (Stage 1): pilot sample against expected production sample, per numeric column.

Pure: CSV text in, per-column population stability index (PSI) and two-sample Kolmogorov-Smirnov statistic out.
The seed: "The Stage 1 production readiness assessment must include a data distribution comparison between pilot
training data and expected production data before any production commitment is made."
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

PSI_THRESHOLD = 0.2  # a column whose PSI is above this has shifted (configurable: distribution.psi_threshold)
PSI_BINS = 10  # deciles of the pilot sample
PSI_FLOOR = 1e-4  # a bin with no values counts as this share, so the logarithm stays finite
MAX_BYTES = 1_000_000  # per sample
MAX_ROWS = 100_000  # per sample
MAX_COLUMNS = 200
MAX_CELL = 200  # characters of one cell
MIN_VALUES = 10  # numeric values a column needs in each sample to be compared


class DistributionError(ValueError):
    """A sample cannot be compared; the message names the problem (and the sample, row or column)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True)
class Sample:
    """The numeric columns of one CSV sample (column -> values, missing cells dropped) and what was left out."""

    rows: int
    numeric: dict[str, np.ndarray]
    skipped: tuple[str, ...]  # columns with a non-numeric value


@dataclass(frozen=True)
class ColumnComparison:
    column: str
    pilot_n: int
    production_n: int
    psi: float
    ks: float  # the largest distance between the two empirical distribution functions, 0..1
    ks_p: float  # its asymptotic p-value
    pilot_mean: float
    production_mean: float
    shifted: bool


@dataclass(frozen=True)
class Comparison:
    columns: tuple[ColumnComparison, ...]
    threshold: float
    pilot_rows: int
    production_rows: int
    only_pilot: tuple[str, ...] = ()  # numeric columns not in the other sample (not compared)
    only_production: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()  # shared columns that are not numeric in both, or have too few values

    @property
    def shifted(self) -> tuple[str, ...]:
        return tuple(c.column for c in self.columns if c.shifted)


def _number(cell: str) -> float | None:
    """A cell as a finite number; None for an empty cell; raises ValueError when it is not a number."""
    text = cell.strip()
    if not text or text.lower() in ("na", "nan", "null", "none"):
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def parse_sample(data: bytes, name: str) -> Sample:
    """Read one CSV sample (header row, comma separated, UTF-8); DistributionError names what is wrong."""
    if not data or not data.strip():
        raise DistributionError(f"the {name} sample is empty", name)
    if len(data) > MAX_BYTES:
        raise DistributionError(f"the {name} sample is over {MAX_BYTES} bytes", name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DistributionError(f"the {name} sample is not UTF-8 text", name) from None
    if "\x00" in text:
        raise DistributionError(f"the {name} sample is not CSV text (it holds NUL bytes)", name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise DistributionError(f"the {name} sample has no header row", name)
        columns = [cell.strip() for cell in header]
        if len(columns) > MAX_COLUMNS:
            raise DistributionError(f"the {name} sample has {len(columns)} columns; at most {MAX_COLUMNS}", name)
        for index, column in enumerate(columns):
            if not column:
                raise DistributionError(f"the {name} sample's column {index + 1} has no name", name)
            if len(column) > 80:
                raise DistributionError(f"the {name} sample's column {index + 1} has a name over 80 characters",
                                        name)
        duplicated = sorted({c for c in columns if columns.count(c) > 1})
        if duplicated:
            raise DistributionError(f"the {name} sample names column {duplicated[0]!r} twice", name)
        values: dict[str, list[float]] = {column: [] for column in columns}
        bad: set[str] = set()
        rows = 0
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            rows += 1
            line = reader.line_num
            if rows > MAX_ROWS:
                raise DistributionError(f"the {name} sample has more than {MAX_ROWS} rows", name)
            if len(row) != len(columns):
                raise DistributionError(f"the {name} sample's line {line} has {len(row)} fields; the header has "
                                        f"{len(columns)}", name)
            for column, cell in zip(columns, row, strict=True):
                if len(cell) > MAX_CELL:
                    raise DistributionError(f"the {name} sample's line {line} has a cell over {MAX_CELL} characters",
                                            name)
                if column in bad:
                    continue
                try:
                    number = _number(cell)
                except ValueError:
                    bad.add(column)
                    continue
                if number is not None:
                    values[column].append(number)
    except csv.Error as exc:
        raise DistributionError(f"the {name} sample is not valid CSV (line {reader.line_num}: {exc})", name) from None
    if rows == 0:
        raise DistributionError(f"the {name} sample has a header but no rows", name)
    numeric = {column: np.asarray(found, dtype=float) for column, found in values.items() if column not in bad}
    return Sample(rows=rows, numeric=numeric, skipped=tuple(c for c in columns if c in bad))


def psi(pilot: np.ndarray, production: np.ndarray, bins: int = PSI_BINS) -> float:
    """Population stability index of production against pilot, over the pilot's quantile bins."""
    edges = np.unique(np.quantile(pilot, np.linspace(0, 1, bins + 1)))
    inner = edges[1:-1]
    if inner.size == 0:  # a constant pilot column: one bin for its value, one either side
        value = edges[0]
        inner = np.array([np.nextafter(value, -np.inf), value])
    # bin i holds the values in (inner[i-1], inner[i]]
    expected = np.bincount(np.searchsorted(inner, pilot, side="left"), minlength=inner.size + 1) / pilot.size
    actual = np.bincount(np.searchsorted(inner, production, side="left"), minlength=inner.size + 1) / production.size
    expected, actual = np.maximum(expected, PSI_FLOOR), np.maximum(actual, PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks(pilot: np.ndarray, production: np.ndarray) -> tuple[float, float]:
    """The two-sample Kolmogorov-Smirnov statistic and its asymptotic p-value."""
    a, b = np.sort(pilot), np.sort(production)
    points = np.concatenate([a, b])
    distance = np.max(np.abs(np.searchsorted(a, points, side="right") / a.size
                             - np.searchsorted(b, points, side="right") / b.size))
    effective = a.size * b.size / (a.size + b.size)
    lam = (math.sqrt(effective) + 0.12 + 0.11 / math.sqrt(effective)) * float(distance)
    if lam < 1e-3:
        return float(distance), 1.0
    terms = [(-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101)]
    return float(distance), float(min(1.0, max(0.0, 2 * sum(terms))))


def compare(pilot: Sample, production: Sample, *, threshold: float = PSI_THRESHOLD) -> Comparison:
    """Compare every numeric column the two samples share; DistributionError when there is none to compare."""
    shared = [column for column in pilot.numeric if column in production.numeric]
    results, skipped = [], []
    for column in shared:
        a, b = pilot.numeric[column], production.numeric[column]
        if a.size < MIN_VALUES or b.size < MIN_VALUES:
            skipped.append(column)
            continue
        index = psi(a, b)
        distance, p_value = ks(a, b)
        results.append(ColumnComparison(column, int(a.size), int(b.size), round(index, 4), round(distance, 4),
                                        p_value, float(a.mean()), float(b.mean()), index > threshold))
    skipped += [c for c in pilot.skipped if c in production.numeric or c in production.skipped]
    skipped += [c for c in production.skipped if c in pilot.numeric]
    if not results:
        why = (f"no numeric column shared by both samples has at least {MIN_VALUES} values in each" if shared else
               "the two samples share no numeric column (compare the header rows)")
        raise DistributionError(why, "columns")
    return Comparison(columns=tuple(results), threshold=threshold, pilot_rows=pilot.rows,
                      production_rows=production.rows,
                      only_pilot=tuple(c for c in pilot.numeric if c not in production.numeric
                                       and c not in production.skipped),
                      only_production=tuple(c for c in production.numeric if c not in pilot.numeric
                                            and c not in pilot.skipped),
                      skipped=tuple(dict.fromkeys(skipped)))


MAX_UPLOAD = 1_000_000  # the whole request body (the HTTP server reads no more than this)


def split_upload(content_type: str, body: bytes) -> tuple[bytes, bytes]:
    """The pilot and production samples of a request: multipart/form-data fields `pilot` and `production`
    (`curl -F pilot=@pilot.csv -F production=@production.csv`), or JSON {"pilot": "<csv>", "production": "<csv>"}.
    """
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        from email.parser import BytesParser
        from email.policy import HTTP

        if "boundary=" not in content_type.lower():
            raise DistributionError("the multipart body names no boundary", "body")
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1", "replace")
                                                      + b"\r\n\r\n" + body)
        if not message.is_multipart():
            raise DistributionError("the body is not multipart/form-data", "body")
        parts: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name in ("pilot", "production"):
                if name in parts:
                    raise DistributionError(f"the {name} sample is sent twice", name)
                parts[name] = part.get_payload(decode=True) or b""
        found = parts
    elif kind == "application/json":
        import json

        try:
            data = json.loads(body or b"")
        except (ValueError, RecursionError):
            raise DistributionError("the body is not JSON", "body") from None
        if not isinstance(data, dict):
            raise DistributionError('the body is an object {"pilot": "<csv>", "production": "<csv>"}', "body")
        unknown = sorted(set(data) - {"pilot", "production"})
        if unknown:
            raise DistributionError(f"unknown field {unknown[0]!r}", unknown[0])
        found = {}
        for name in ("pilot", "production"):
            if name in data:
                if not isinstance(data[name], str):
                    raise DistributionError(f"{name} must be the CSV text as a string", name)
                found[name] = data[name].encode("utf-8")
    else:
        raise DistributionError("send multipart/form-data (curl -F pilot=@pilot.csv -F production=@production.csv) "
                                'or application/json {"pilot": "<csv>", "production": "<csv>"}', "content-type")
    for name in ("pilot", "production"):
        if name not in found:
            raise DistributionError(f"the {name} sample is missing", name)
    return found["pilot"], found["production"]
