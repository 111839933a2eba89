"""Local tooling: shopper traffic, the one-machine pipeline, cost estimates and the CLI."""
