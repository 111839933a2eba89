"""Collector: the producer's Tracking API as a long-lived server that commits events in groups.

Many small requests (browsers send 1-10 events each) share Kinesis records and PutRecords
calls, which the Lambda producer, one request per invoke, cannot do.
"""
