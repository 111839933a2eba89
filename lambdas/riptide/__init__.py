"""Riptide: behavioural events from HTTP to Kinesis to per-minute rollups in Apache Druid."""
