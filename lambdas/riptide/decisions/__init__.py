"""Decisions: what each shopper sees per placement, chosen from rules, trends and experiments.

A site's rules and experiments are data (`rules/<site>.json` in the decisions store); the
trends job writes `trends/<site>.json` beside them. Assignment to an experiment's arms is a hash
of (experiment, shopper), so the decider, the rollup consumer and the report all recompute it.
"""
