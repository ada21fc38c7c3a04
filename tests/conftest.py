"""Shared fixtures: the PostgreSQL harness, and the shipped program loaded once."""

pytest_plugins = ["tests.pg"]
