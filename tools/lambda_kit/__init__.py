"""Stand-ins for what Lambda hands a function: its context, API Gateway HTTP API events, Kinesis
events, and the Kinesis event source mapping that produces them.

Defined once here and shared by the tests, the benchmarks and the local pipeline, so that all
three call the handlers with events of the same shape.
"""
