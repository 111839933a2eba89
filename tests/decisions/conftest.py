"""The decide API's fixtures (tests/decisions/decide_fixtures.py) and the real store's."""

from tests.decisions.decide_fixtures import aws, make_api  # noqa: F401 (fixtures)
from tests.profiles.conftest import store_client  # noqa: F401 (fixtures)
