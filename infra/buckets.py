"""Private S3 buckets: encrypted, no public access, TLS only, access-logged, retained."""

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct


def private_bucket(
    scope: Construct,
    construct_id: str,
    *,
    expiry_days: int,
    access_logs: s3.IBucket | None,
    expiring_prefix: str | None = None,
) -> s3.Bucket:
    """A bucket whose objects (or those under `expiring_prefix`) expire after `expiry_days`."""
    return _secure_bucket(
        scope,
        construct_id,
        access_logs=access_logs,
        versioned=False,
        lifecycle_rules=[
            s3.LifecycleRule(
                prefix=expiring_prefix,
                expiration=Duration.days(expiry_days),
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        ],
    )


def versioned_bucket(
    scope: Construct,
    construct_id: str,
    *,
    access_logs: s3.IBucket,
    versions_kept_days: Mapping[str, int],
) -> s3.Bucket:
    """A bucket that keeps every version of its objects: a version replaced or deleted under
    each prefix stays restorable for that prefix's days. Current objects never expire."""
    return _secure_bucket(
        scope,
        construct_id,
        access_logs=access_logs,
        versioned=True,
        lifecycle_rules=[
            s3.LifecycleRule(
                prefix=prefix,
                noncurrent_version_expiration=Duration.days(days),
                expired_object_delete_marker=True,
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
            for prefix, days in versions_kept_days.items()
        ],
    )


def _secure_bucket(
    scope: Construct,
    construct_id: str,
    *,
    access_logs: s3.IBucket | None,
    versioned: bool,
    lifecycle_rules: list[s3.LifecycleRule],
) -> s3.Bucket:
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        versioned=versioned,
        lifecycle_rules=lifecycle_rules,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=f"{construct_id}/" if access_logs else None,
        removal_policy=RemovalPolicy.RETAIN,
    )
