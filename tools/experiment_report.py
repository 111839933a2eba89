"""`riptide experiment report`: one experiment's arms as Druid's rollups have them.

One Druid SQL query over the rollups, grouped by the multi-value `variant` dimension (every
event of a shopper carries "<experiment>/<arm>" of each experiment that attributes it, recomputed
by the consumer from the assignment hash), gives per arm: exposures (Decision Made events of the
experiment), unique exposed users (the `users` sketches of those rows, merged), orders, unique
buyers and revenue (Order Completed events). Conversion is buyers over exposed users, revenue per
user revenue over exposed users; each arm is compared with control (see tools.experiment_stats
for the interval and why it holds).

Druid's GROUP BY counts a row under each value of a multi-value dimension, so the rows of the
experiment's shoppers also come back under the arms of their other experiments; those groups
are dropped here. (A HAVING on the grouped value would not do: Druid 28 pushes a LIKE there
down to the rows, which keeps them all.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from riptide.contract import DECISION_EVENT
from riptide.decisions.assignment import variant_label
from tools.experiment_stats import Difference, conversion_difference, sketch_relative_error
from tools.local.rollup_store import DruidHttp

ORDER_EVENT = "Order Completed"
USERS_LG_K = 12
"""lgK of the default `users` metric, which the report's unique counts merge."""
_LIKE_ESCAPE = "\\"


@dataclass(frozen=True, slots=True)
class ReportScope:
    """Which experiment, and which of its rows: a site (experiment ids are per site) and a start."""

    experiment: str
    datasource: str
    site: str | None = None
    since: datetime | None = None
    control: str = "control"

    def query(self) -> tuple[str, list[str]]:
        """The report's one SQL query and its parameters."""
        exposed = f'"event" = \'{DECISION_EVENT}\' AND "experiment" = ?'
        ordered = f"\"event\" = '{ORDER_EVENT}'"
        where = [f"\"variant\" LIKE ? ESCAPE '{_LIKE_ESCAPE}'"]
        parameters = [
            self.experiment,
            self.experiment,
            _like_prefix(variant_label(self.experiment, "")),
        ]
        if self.site is not None:
            where.append('"site" = ?')
            parameters.append(self.site)
        if self.since is not None:
            where.append("__time >= TIME_PARSE(?)")
            parameters.append(self.since.isoformat())
        sql = (
            'SELECT "variant",\n'
            f'  SUM("events") FILTER (WHERE {exposed}) AS "exposures",\n'
            f'  APPROX_COUNT_DISTINCT_DS_HLL("users") FILTER (WHERE {exposed}) AS "users",\n'
            f'  SUM("events") FILTER (WHERE {ordered}) AS "orders",\n'
            f'  APPROX_COUNT_DISTINCT_DS_HLL("users") FILTER (WHERE {ordered}) AS "buyers",\n'
            f'  SUM("revenue") FILTER (WHERE {ordered}) AS "revenue"\n'
            f"FROM {_identifier(self.datasource)}\n"
            f"WHERE {' AND '.join(where)}\n"
            'GROUP BY "variant"\n'
            'ORDER BY "variant"'
        )
        return sql, parameters


@dataclass(frozen=True, slots=True)
class ArmFigures:
    arm: str
    exposures: int
    users: int
    orders: int
    buyers: int
    revenue: float

    @property
    def conversion(self) -> float | None:
        return self.buyers / self.users if self.users else None

    @property
    def revenue_per_user(self) -> float | None:
        return self.revenue / self.users if self.users else None


@dataclass(frozen=True, slots=True)
class ArmComparison:
    """An arm against control: conversion with its interval, revenue per user without one
    (the rollups hold revenue sums, not each shopper's revenue, so its variance is unknown)."""

    conversion: Difference | None
    revenue_per_user: float | None


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    scope: ReportScope
    sql: str
    arms: tuple[ArmFigures, ...]
    relative_error: float

    @property
    def control(self) -> ArmFigures | None:
        return next((arm for arm in self.arms if arm.arm == self.scope.control), None)

    def comparison(self, arm: ArmFigures) -> ArmComparison | None:
        """`arm` against control; None for control itself, or when there is no control."""
        control = self.control
        if control is None or arm is control:
            return None
        revenue = (
            arm.revenue_per_user - control.revenue_per_user
            if arm.revenue_per_user is not None and control.revenue_per_user is not None
            else None
        )
        conversion = conversion_difference(
            arm.buyers, arm.users, control.buyers, control.users, self.relative_error
        )
        return ArmComparison(conversion, revenue)

    def to_json(self) -> dict[str, Any]:
        scope = self.scope
        arms = []
        for arm in self.arms:
            comparison = self.comparison(arm)
            arms.append(
                {
                    "arm": arm.arm,
                    "exposures": arm.exposures,
                    "users": arm.users,
                    "orders": arm.orders,
                    "buyers": arm.buyers,
                    "revenue": arm.revenue,
                    "conversion": arm.conversion,
                    "revenuePerUser": arm.revenue_per_user,
                    "conversionDifference": _difference_json(comparison and comparison.conversion),
                    "revenuePerUserDifference": comparison and comparison.revenue_per_user,
                }
            )
        return {
            "experiment": scope.experiment,
            "datasource": scope.datasource,
            "site": scope.site,
            "since": scope.since.isoformat() if scope.since else None,
            "control": scope.control,
            "confidence": 0.95,
            "sketchRelativeError": self.relative_error,
            "query": self.sql,
            "arms": arms,
        }

    def render(self) -> str:
        scope = self.scope
        where = [f"in {scope.datasource}"]
        if scope.site:
            where.append(f"site {scope.site}")
        if scope.since:
            where.append(f"since {scope.since.isoformat()}")
        header = (
            "arm",
            "exposures",
            "users",
            "orders",
            "buyers",
            "conversion",
            "revenue/user",
            f"conversion vs {scope.control} (95% CI)",
            f"revenue/user vs {scope.control}",
        )
        table = [header]
        for arm in self.arms:
            comparison = self.comparison(arm)
            table.append(
                (
                    arm.arm,
                    f"{arm.exposures:,}",
                    f"{arm.users:,}",
                    f"{arm.orders:,}",
                    f"{arm.buyers:,}",
                    _percent(arm.conversion),
                    _money(arm.revenue_per_user),
                    _interval(comparison and comparison.conversion),
                    _signed_money(comparison and comparison.revenue_per_user),
                )
            )
        widths = [max(len(row[at]) for row in table) for at in range(len(header))]
        lines = [f"Experiment {scope.experiment} ({', '.join(where)})"]
        for row in table:
            cells = [row[0].ljust(widths[0])]
            cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
            lines.append("  ".join(cells).rstrip())
        lines += self._notes()
        return "\n".join(lines)

    def _notes(self) -> list[str]:
        notes = [
            "conversion: unique buyers / unique exposed users (HLL estimates, relative standard "
            f"error {self.relative_error:.1%}, included in the interval)"
        ]
        if self.control is None:
            notes.append(f"no arm named {self.scope.control!r}: no differences (see --control)")
        if any(arm.buyers > arm.users for arm in self.arms):
            notes.append(
                "an arm has more buyers than exposed users: shoppers bought without being exposed, "
                "so conversion overstates the exposed shoppers' own"
            )
        return notes


def experiment_report(http: DruidHttp, scope: ReportScope) -> ExperimentReport:
    """Run the report's query as `http`'s user and put the arms side by side."""
    sql, parameters = scope.query()
    rows = http.sql(sql, *parameters)
    prefix = variant_label(scope.experiment, "")
    arms = sorted(
        (
            ArmFigures(
                arm=row["variant"].removeprefix(prefix),
                exposures=int(row["exposures"] or 0),
                users=int(row["users"] or 0),
                orders=int(row["orders"] or 0),
                buyers=int(row["buyers"] or 0),
                revenue=float(row["revenue"] or 0.0),
            )
            for row in rows
            if row["variant"].startswith(prefix)
        ),
        key=lambda arm: (arm.arm != scope.control, arm.arm),
    )
    return ExperimentReport(scope, sql, tuple(arms), sketch_relative_error(USERS_LG_K))


def _identifier(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _like_prefix(text: str) -> str:
    """A LIKE pattern for values starting with `text`, its own % and _ taken literally."""
    escaped = "".join(_LIKE_ESCAPE + char if char in f"%_{_LIKE_ESCAPE}" else char for char in text)
    return escaped + "%"


def _difference_json(difference: Difference | None) -> dict[str, Any] | None:
    if difference is None:
        return None
    return {
        "estimate": difference.estimate,
        "low": difference.low,
        "high": difference.high,
        "excludesZero": difference.excludes_zero,
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _signed_money(value: float | None) -> str:
    return "" if value is None else f"{value:+,.2f}"


def _interval(difference: Difference | None) -> str:
    if difference is None:
        return ""
    points = 100
    return (
        f"{difference.estimate * points:+.2f} pts "
        f"[{difference.low * points:+.2f}, {difference.high * points:+.2f}]"
    )
