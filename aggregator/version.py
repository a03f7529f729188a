"""The version, in a module of its own: importing it runs no other part of the package."""

__version__ = "0.1.0"
