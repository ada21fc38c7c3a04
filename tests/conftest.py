"""Shared fixtures: the PostgreSQL harness; hypothesis is derandomised under CI."""

from __future__ import annotations

import os

from hypothesis import settings

pytest_plugins = ["tests.pg"]

# Locally, property tests explore new examples every run (and keep failures in .hypothesis/).
# In CI they run a fixed, derandomised set, so a landing never depends on a lucky draw.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
