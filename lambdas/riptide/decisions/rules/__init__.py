"""Rules as data: a site's rules file parsed into a RuleSet that decides per placement.

parse_rule_set(body, site) checks the whole file and names every problem by its JSON path
(RulesError); RuleSet.decide(placements, facts, unit, now_ms) chooses each placement's content
from the shopper's facts and the placement's experiment. Conditions are data: no code from the
file is ever evaluated.
"""

from riptide.decisions.rules.facts import Facts
from riptide.decisions.rules.parse import parse_rule_set
from riptide.decisions.rules.problems import RulesError
from riptide.decisions.rules.ruleset import Choice, RuleSet, UnknownPlacement

__all__ = ["Choice", "Facts", "RuleSet", "RulesError", "UnknownPlacement", "parse_rule_set"]
