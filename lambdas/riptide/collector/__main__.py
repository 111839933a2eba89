"""`python -m riptide.collector`: the container's entry point, configured by the environment.

COLLECTOR_PORT (8080), COLLECTOR_WORKERS (the CPUs) and FORWARDED_ALLOW_IPS ('*': only the load
balancer reaches the tasks) choose where and how it serves; every other setting is one of the
producer's or the collector's environment variables.
"""

from __future__ import annotations

import os
import sys

from riptide.collector.server import ServerOptions, serve
from riptide.config import ConfigurationError, EnvReader
from riptide.contract import Env

if __name__ == "__main__":
    read = EnvReader(os.environ)
    try:
        options = ServerOptions(
            port=read.integer(Env.COLLECTOR_PORT, 8080, maximum=65535),
            workers=read.integer(Env.COLLECTOR_WORKERS, os.cpu_count() or 1, maximum=256),
            forwarded_allow_ips=read.text(Env.FORWARDED_ALLOW_IPS, "*"),
            log_level="info",
        )
    except ConfigurationError as error:
        sys.exit(f"riptide collector: {error}")
    serve(options)
