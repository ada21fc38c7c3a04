"""Timers: what is due later for each family (daily lessons, check-ins and nudges, waits and
follow-ups), planned in `plans` and fired by the tick in `tick`."""
