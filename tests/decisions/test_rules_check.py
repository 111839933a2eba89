"""`riptide rules check FILE...`: OK with the version for a good file, every problem with its
path for a bad one, and exit status 1 when any file is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.decisions.rulesets import SITE, encode, rules
from tools.cli import EXIT_FAIL, EXIT_PASS, main


def test_good_files_are_ok_with_their_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / f"{SITE}.json"
    good.write_bytes(encode(rules(version="v7")))
    other = tmp_path / "any-name.json"
    other.write_bytes(encode(rules(version="v8")))

    assert main(["rules", "check", str(good)]) == EXIT_PASS
    assert main(["rules", "check", "--site", SITE, str(other)]) == EXIT_PASS

    assert capsys.readouterr().out.splitlines() == [
        f"{good}: OK, version v7 for site {SITE}",
        f"{other}: OK, version v8 for site {SITE}",
    ]


def test_a_bad_file_lists_every_problem_and_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / f"{SITE}.json"
    good.write_bytes(encode(rules()))
    bad = tmp_path / "southwind.json"  # the file names another site than it holds
    bad.write_bytes(encode(rules(version=1)))

    assert main(["rules", "check", str(good), str(bad)]) == EXIT_FAIL
    assert main(["rules", "check", str(tmp_path / "gone.json")]) == EXIT_FAIL

    assert capsys.readouterr().out.splitlines() == [
        f"{good}: OK, version 2026-12-01.1 for site {SITE}",
        f"{bad}: refused, 2 problem(s)",
        f"  site: must be 'southwind', the site this file is for, not '{SITE}'",
        "  version: must be a string, not a number",
        f"{tmp_path / 'gone.json'}: cannot be read (No such file or directory)",
    ]
