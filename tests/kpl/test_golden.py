"""Records written by the real KPL decode to exactly the user records that went in."""

import pytest

from riptide.kpl import UserRecord, deaggregate, deaggregate_user_records
from tests.kpl.references import golden_fixtures, protobuf_decode

FIXTURES = golden_fixtures()


@pytest.mark.parametrize("fixture", FIXTURES, ids=[fixture.name for fixture in FIXTURES])
def test_real_kpl_record_deaggregates_to_its_user_records(fixture):
    user_records = deaggregate_user_records(fixture.data, partition_key="outer")

    assert user_records == [
        UserRecord(
            expected.data, position, expected.partition_key, expected.explicit_hash_key, True
        )
        for position, expected in enumerate(fixture.user_records)
    ]
    assert deaggregate(fixture.data) == [expected.data for expected in fixture.user_records]


@pytest.mark.parametrize("fixture", FIXTURES, ids=[fixture.name for fixture in FIXTURES])
def test_fixture_is_what_the_protobuf_runtime_reads_too(fixture):
    assert protobuf_decode(fixture.data) == fixture.user_records
