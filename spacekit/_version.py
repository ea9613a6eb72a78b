"""The version of spacekit, in one place."""

__version__ = "0.2.0"
