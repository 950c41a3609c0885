"""Invoke entry point: `inv --list`. All logic lives in the tooling package."""

from tooling.commands import ns

__all__ = ["ns"]
