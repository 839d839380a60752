"""Elastic: the library behind the executable book of Ji et al. (ACL 2025),
*Language Models Resist Alignment: Evidence From Data Compression*.

Modules are named after the paper's concepts; each docstring names the definition it implements.
Nothing here touches the network at import time; importing it silences the libraries' progress
bars unless ``ELASTIC_VERBOSE=1`` (:mod:`elastic.progress`), and has the C allocator keep freed
memory for the next training step (:mod:`elastic.allocator`).
"""

__version__ = "0.1.0"

from elastic import allocator as _allocator, progress as _progress

_progress.quiet_libraries()  # before transformers, datasets or the hub is imported: their bars off
_allocator.reuse_freed_memory()
