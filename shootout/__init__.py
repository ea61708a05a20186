"""The ``shootout`` command line, above both the harness (running) and the reports (publishing).

Kept import-light on purpose: thread pools are configured before NumPy is imported.
"""
