"""The analytics engine: one module per summary table, the machinery they share, and the refresh of them all.

See docs/architecture.md, "One function per table, many callers".
"""
