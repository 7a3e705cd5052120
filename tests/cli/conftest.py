"""Fixtures for the command-line tests; the helpers live in cli_helpers.py (a unique module
name: every tests folder has a conftest, so `from conftest import` would pick the wrong one)."""

from cli_helpers import ready, sandbox, serve  # noqa: F401  (fixtures)
