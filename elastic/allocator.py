"""Memory reuse for tensor work on CPU, set when :mod:`elastic` is imported.

glibc's ``malloc`` serves a block over ``M_MMAP_THRESHOLD`` (128 KiB at first) with a fresh
``mmap`` and returns it to the system on ``free``, and trims the top of its heap back to the system
past ``M_TRIM_THRESHOLD``. A training step allocates and frees activations of megabytes (SmolLM2's
MLP outputs at batch 8 x 64 tokens are 3 MiB each, its logits over a 49,152-token vocabulary 100 MB),
so without this every step faults in and zeroes fresh pages: about 125,000 page faults per
SmolLM2 + LoRA step at batch 8 x 64, 5-6% of its CPU time, on the book's 2-core machine. Keeping
freed memory in the heap makes the next step reuse it.
"""

from __future__ import annotations

import ctypes
import ctypes.util

#: ``mallopt`` parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: blocks above this (a 7B model's embedding) still get their own mapping, and go back when freed
_MMAP_MAX = 1 << 30


def reuse_freed_memory() -> bool:
    """Keep freed blocks of up to 1 GiB in the heap for reuse, and the heap from being trimmed;
    ``True`` where this is glibc and it took the settings, ``False`` elsewhere (macOS, musl),
    where the allocator's defaults stay."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # no C library to load, or one without mallopt
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_MAX)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
