"""tinyc: one small C extension module."""
from ._tiny import add, machine

__all__ = ["add", "machine"]
