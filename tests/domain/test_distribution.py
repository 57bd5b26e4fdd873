"""PSI and the two-sample KS statistic per shared numeric column, and CSV samples read strictly (issue 17 point 3)."""

import json

import numpy as np
import pytest

from bot.domain.distribution import (
    MIN_VALUES,
    DistributionError,
    compare,
    ks,
    parse_sample,
    psi,
    split_upload,
)


def csv_of(**columns) -> bytes:
    names = list(columns)
    rows = zip(*columns.values(), strict=True)
    return (",".join(names) + "\n" + "\n".join(",".join(str(v) for v in row) for row in rows) + "\n").encode()


def test_the_same_distribution_is_stable_and_a_shifted_one_is_flagged():
    rng = np.random.default_rng(7)
    pilot = parse_sample(csv_of(amount=rng.normal(100, 10, 2000).round(2),
                                days=rng.integers(0, 30, 2000)), "pilot")
    production = parse_sample(csv_of(amount=rng.normal(112, 10, 2000).round(2),
                                     days=rng.integers(0, 30, 2000)), "production")
    result = compare(pilot, production, threshold=0.2)
    by_column = {c.column: c for c in result.columns}
    assert by_column["days"].psi < 0.05 and not by_column["days"].shifted
    assert by_column["amount"].psi > 0.5 and by_column["amount"].shifted
    assert by_column["amount"].ks > 0.4 and by_column["amount"].ks_p < 1e-6
    assert by_column["days"].ks_p > 0.01
    assert result.shifted == ("amount",)


def test_the_threshold_is_the_organisations():
    rng = np.random.default_rng(3)
    pilot = parse_sample(csv_of(x=rng.normal(0, 1, 1000)), "pilot")
    production = parse_sample(csv_of(x=rng.normal(0.3, 1, 1000)), "production")
    index = compare(pilot, production).columns[0].psi
    assert 0.03 < index < 0.2
    assert compare(pilot, production, threshold=index / 2).shifted == ("x",)
    assert compare(pilot, production, threshold=0.2).shifted == ()


def test_psi_and_ks_against_hand_computed_values():
    # Pilot deciles of 1..10 put one value per bin; production has all ten values in the top bin.
    pilot = np.arange(1, 11, dtype=float)
    production = np.full(10, 10.0)
    expected = 9 * (1e-4 - 0.1) * np.log(1e-4 / 0.1) + (1 - 0.1) * np.log(1 / 0.1)
    assert psi(pilot, production) == pytest.approx(expected)
    assert ks(pilot, production)[0] == pytest.approx(0.9)
    assert ks(pilot, pilot.copy()) == (0.0, 1.0)
    # a constant pilot column still notices a production that moved
    assert psi(np.ones(20), np.ones(20)) == 0 and psi(np.ones(20), np.full(20, 2.0)) > 5


def test_shared_numeric_columns_only_and_what_was_left_out_is_said():
    pilot = parse_sample(csv_of(a=range(20), name=["x"] * 20, only_p=range(20), few=[1, 2] + [""] * 18), "pilot")
    production = parse_sample(csv_of(a=range(5, 25), name=["y"] * 20, only_q=range(20), few=range(20)), "production")
    result = compare(pilot, production)
    assert [c.column for c in result.columns] == ["a"]
    assert set(result.skipped) == {"name", "few"}
    assert result.only_pilot == ("only_p",) and result.only_production == ("only_q",)
    assert result.columns[0].pilot_n == 20 and MIN_VALUES == 10


@pytest.mark.parametrize(("data", "problem"), [
    (b"", "the pilot sample is empty"),
    (b"\xff\xfe\x00a", "the pilot sample is not UTF-8 text"),
    (b"a,b\n", "the pilot sample has a header but no rows"),
    (b"a,a\n1,2\n", "the pilot sample names column 'a' twice"),
    (b"a,b\n1,2\n3\n", "the pilot sample's line 3 has 1 fields; the header has 2"),
    (b'a,b\n1,"2\n', "the pilot sample is not valid CSV"),
    (b"a,,b\n1,2,3\n", "the pilot sample's column 2 has no name"),
])
def test_a_bad_csv_names_its_problem(data, problem):
    with pytest.raises(DistributionError) as raised:
        parse_sample(data, "pilot")
    assert raised.value.message.startswith(problem) and raised.value.field == "pilot"


def test_no_shared_numeric_column_is_refused():
    pilot = parse_sample(csv_of(a=range(20)), "pilot")
    production = parse_sample(csv_of(b=range(20)), "production")
    with pytest.raises(DistributionError, match="share no numeric column"):
        compare(pilot, production)
    short = parse_sample(csv_of(a=range(5)), "production")
    with pytest.raises(DistributionError, match="at least 10 values"):
        compare(pilot, short)


def test_uploads_as_a_form_or_as_json():
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"pilot\"; filename=\"p.csv\"\r\n"
            b"Content-Type: text/csv\r\n\r\na\n1\n\r\n"
            b"--XyZ\r\nContent-Disposition: form-data; name=\"production\"; filename=\"q.csv\"\r\n\r\na\n2\n\r\n"
            b"--XyZ--\r\n")
    assert split_upload("multipart/form-data; boundary=XyZ", body) == (b"a\n1\n", b"a\n2\n")
    assert split_upload("application/json", json.dumps({"pilot": "a\n1", "production": "a\n2"}).encode()) == (
        b"a\n1", b"a\n2")
    for content_type, raw, problem in [
        ("text/plain", b"a", "send multipart/form-data"),
        ("application/json", b"{", "the body is not JSON"),
        ("application/json", b'{"pilot": "a\\n1"}', "the production sample is missing"),
        ("application/json", b'{"pilot": 1, "production": "a"}', "pilot must be the CSV text"),
        ("application/json", b'{"pilot": "a", "production": "a", "x": 1}', "unknown field 'x'"),
        ("multipart/form-data", b"", "the multipart body names no boundary"),
    ]:
        with pytest.raises(DistributionError, match=problem):
            split_upload(content_type, raw)
