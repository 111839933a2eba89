"""Local tooling: shopper traffic, the one-machine pipeline, cost estimates and the CLI.

The Lambda code lives in lambdas/ and imports itself as Lambda bundles it, from the root of the
import path (`import riptide`, `import producer.handler`); the tools run it the same way.
"""

import sys
from pathlib import Path

LAMBDAS_DIR = str(Path(__file__).resolve().parent.parent / "lambdas")
if LAMBDAS_DIR not in sys.path:
    sys.path.append(LAMBDAS_DIR)
