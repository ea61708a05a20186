"""The GPU check: one command that verifies and times the GPU cells, measures the device's
ceilings and records golden fixtures on a machine with CUDA, inside a time budget
(``python -m shootout.gpu_check``; ``nox -s gpu`` wraps it). See ``check`` for the phases.
"""
