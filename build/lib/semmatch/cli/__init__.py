"""The `semmatch` command (entry point: semmatch.cli.main.main:main)."""
