"""Rigfit's desktop app (PySide6). All numbers come from ``advisor``; this package only shows them."""
