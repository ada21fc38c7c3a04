"""Row ids read from outside (storage/ids.py `parse`): a number no row can have is no row, never
a database error or Python's refusal to read thousands of digits."""

from __future__ import annotations

import pytest

from storage import ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        ("0042", 42),
        ("0" * 5000 + "42", 42),  # leading zeros are not a number's size
        (str(ids.MAX_ROW_ID), ids.MAX_ROW_ID),
        (str(ids.MAX_ROW_ID + 1), None),
        ("9" * 25, None),
        ("9" * 5000, None),  # past int()'s limit: not a ValueError
        ("0", None),
        ("", None),
        ("-1", None),
        ("4 2", None),
        ("٤٢", None),  # digits of another script are not ours
    ],
)
def test_parse_reads_a_row_id_or_says_none(text: str, expected: int | None) -> None:
    assert ids.parse(text) == expected
