"""Put first on ``PYTHONPATH`` by :func:`elastic.data.mirror.no_network`: a Python process started
inside a rehearsal (a papermill kernel, an ``accelerate launch`` worker) refuses connections to other
hosts as its parent does, so a download that slipped past the mirror fails instead of succeeding."""

import os
import socket

if os.environ.get("ELASTIC_NO_NETWORK") == "1":
    _connect = socket.socket.connect

    def _guarded(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if not (host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.")):
                raise OSError(f"network access to {address} during a rehearsal: everything must come from the mirror")
        return _connect(sock, address)

    socket.socket.connect = _guarded
