"""The Lambda environment variable names, shared with the handlers.

Loaded from lambdas/riptide/env.py by path, so the CDK app needs neither lambdas/ on sys.path
nor the Lambda runtime's dependencies.
"""

import importlib.util
from pathlib import Path
from types import ModuleType

LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("riptide_env", LAMBDAS_DIR / "riptide" / "env.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {LAMBDAS_DIR / 'riptide' / 'env.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


env = _load()
