"""The package version (one place: the report, the CLI and the package read it)."""

__version__ = "0.1.0"
