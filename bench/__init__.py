"""Hot-path benchmarks; run each from the repository root as `python -m bench.<module>`.

The Lambda code lives under lambdas/ (the functions' package root), so it joins the import path.
"""

import sys
from pathlib import Path

_LAMBDAS = str(Path(__file__).resolve().parent.parent / "lambdas")
if _LAMBDAS not in sys.path:
    sys.path.insert(0, _LAMBDAS)
