"""Private S3 buckets: encrypted, no public access, TLS only, objects expiring."""

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
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        lifecycle_rules=[
            s3.LifecycleRule(
                prefix=expiring_prefix,
                expiration=Duration.days(expiry_days),
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        ],
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=f"{construct_id}/" if access_logs else None,
        removal_policy=RemovalPolicy.RETAIN,
    )
