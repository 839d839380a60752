"""elastic.allocator: freed blocks are reused, not faulted in afresh at every step."""

import platform
import subprocess
import sys

import pytest

# Allocate, touch and free a 64 MiB block 20 times (the size of a batch's logits over a large
# vocabulary; glibc's own threshold stops rising at 32 MiB); print the minor page faults that took.
_CYCLES = """
import resource, sys
if sys.argv[1] == "reuse":
    from elastic.allocator import reuse_freed_memory
    assert reuse_freed_memory()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    block = bytearray(64 << 20)  # calloc'd: every page is touched when zeroed or faulted in
    block[::4096] = b"x" * len(block[::4096])
    del block
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _CYCLES, mode], capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    pages = 20 * (64 << 20) // 4096
    assert faults("default") > pages // 2  # glibc maps and unmaps each block
    assert faults("reuse") < pages // 5  # the first block's pages serve all 20


def test_importing_elastic_applies_it():
    out = subprocess.run([sys.executable, "-c", "import elastic, elastic.allocator as a; print(a.reuse_freed_memory())"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(platform.libc_ver()[0] == "glibc")
