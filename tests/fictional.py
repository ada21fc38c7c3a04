"""Phone numbers that reach nobody, valid enough for `enroll` to accept.

555-0100 to 555-0199 are reserved for fiction in every North American area code, and
phonenumbers takes them as valid numbers (a bare +1 555 0123 has no area code, so it is not).
"""

from __future__ import annotations

from functools import cache

import phonenumbers

PER_AREA = 100  # 555-0100 .. 555-0199


@cache
def _area_codes() -> tuple[int, ...]:
    def valid(area: int) -> bool:
        number = phonenumbers.parse(f"+1{area}5550100")
        return phonenumbers.is_valid_number(number) and (
            phonenumbers.region_code_for_number(number) == "US"
        )

    return tuple(area for area in range(201, 990) if valid(area))


def phone(i: int) -> str:
    """The i-th fictional US number: +1 201 555 0100, +1 201 555 0101, ... then the next area.

    Past the ~38,000 valid ones, numbers in the unassigned area code 555 follow: unique, but
    `enroll` refuses them (benchmarks copy rows past that point, they never enroll them).
    """
    areas = _area_codes()
    if i < len(areas) * PER_AREA:
        return f"+1{areas[i // PER_AREA]}55501{i % PER_AREA:02d}"
    return f"+1555{i:07d}"
