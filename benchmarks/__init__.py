"""Benchmark scripts, run as ``python benchmarks/NAME.py``; a package only so that
import-linter can check what they import (no tests)."""
