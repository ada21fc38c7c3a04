"""A day as a family reads it in their language: 'Wednesday 9 December', 'miércoles 9 de diciembre'.

Only the locales craftbot speaks; any other gets the English names (a new locale adds its own
here, as it adds its messages).
"""

from __future__ import annotations

from datetime import date

_NAMES = {
    "en": (
        "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
        "January February March April May June July August September October November December",
        "{weekday} {day} {month}",
    ),
    "es": (
        "lunes martes miércoles jueves viernes sábado domingo",
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
        "{weekday} {day} de {month}",
    ),
}


def spoken_day(day: date, locale: str) -> str:
    """'Wednesday 9 December' (en), 'miércoles 9 de diciembre' (es)."""
    weekdays, months, pattern = _NAMES.get(locale, _NAMES["en"])
    return pattern.format(
        weekday=weekdays.split()[day.weekday()],
        day=day.day,
        month=months.split()[day.month - 1],
    )
