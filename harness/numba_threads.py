"""Numba kernels whose ``prange`` loops are compiled in parallel only when they can run so.

``numba.njit(parallel=True)`` costs several times the compile time of the serial form (each
signature builds a gufunc scheduler besides the loop), and with one Numba thread it buys
nothing: the benchmark's default is one thread and the test suite pins one. ``threaded_njit``
keeps both forms of one function and calls the one that matches ``numba.get_num_threads()``
at each call, compiling each form the first time it is needed. ``prange`` in the serial form
is a plain ``range``, so both forms compute the same thing (the parallel one is verified by
``shootout verify`` / ``bench`` whenever they run with ``--threads`` above 1).

Only for kernels called from Python: a jitted caller cannot call this wrapper.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ThreadedKernel:
    """A callable holding the serial and the parallel dispatcher of one Python function."""

    def __init__(self, function: Callable[..., Any], options: dict[str, Any]) -> None:
        if "parallel" in options or options.get("cache"):
            # cache: both forms would share one on-disk index under the same qualified name
            raise TypeError("threaded_njit chooses 'parallel' itself and does not cache")
        self.py_func = function
        self.options = options
        self.dispatchers: dict[bool, Any] = {}
        self.__doc__ = function.__doc__
        self.__name__ = getattr(function, "__name__", "kernel")

    def dispatcher(self, parallel: bool) -> Any:
        """The Numba dispatcher of that form (created, not compiled, on first use)."""
        if parallel not in self.dispatchers:
            import numba

            options = {**self.options, "cache": False, "parallel": parallel}
            self.dispatchers[parallel] = numba.njit(**options)(self.py_func)
        return self.dispatchers[parallel]

    def __call__(self, *args: Any) -> Any:
        import numba

        return self.dispatcher(numba.get_num_threads() > 1)(*args)


def threaded_njit(**options: Any) -> Callable[[Callable[..., Any]], ThreadedKernel]:
    """``@threaded_njit(fastmath=...)`` in place of ``@numba.njit(parallel=True, ...)``."""

    def wrap(function: Callable[..., Any]) -> ThreadedKernel:
        return ThreadedKernel(function, options)

    return wrap
