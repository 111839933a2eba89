#!/usr/bin/env python3
"""Synthesizes the Riptide stack from the settings in cdk.json and `-c key=value`."""

import sys

from aws_cdk import App

from infra.nag import check_with_nag
from infra.settings import Settings
from infra.stack import RiptideStack
from riptide.config import ConfigurationError


def main() -> None:
    app = App()
    try:
        settings = Settings.from_context(app.node.try_get_context)
    except ConfigurationError as error:
        sys.exit(str(error))
    check_with_nag(app, RiptideStack(app, settings))
    app.synth()


if __name__ == "__main__":
    main()
