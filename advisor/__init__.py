"""Rigfit's core: probe hardware, read model facts, plan quantizations, flag risks, download.

Plain Python only: nothing under ``advisor`` may import Qt (a test enforces it), so the CLI, the report
and the GUI all share one planner and show the same numbers.
"""

__version__ = "0.1.0"
