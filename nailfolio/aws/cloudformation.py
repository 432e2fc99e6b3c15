"""Deploying the packaged stack: what `aws cloudformation package` and `deploy` do, in boto3.

`package` uploads the Lambda zip (and the template, too big for a TemplateBody past 51,200
bytes) to a deployment bucket under their content hash, so an unchanged bundle is not sent
again, and points every function's CodeUri at it. Then one change set: CREATE for a new stack,
UPDATE for an existing one, described before anything changes (a dry run deletes it there),
executed, and followed event by event until the stack settles. `destroy` empties the stack's
buckets (every version and delete marker: CloudFormation cannot delete a bucket that holds
any) and deletes the stack.

Every call goes through nailfolio.aws.calls.call, so a refusal is a library error naming the
operation; waiting polls with an injectable `sleep`, so tests never wait.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nailfolio.aws.calls import call
from nailfolio.errors import DeployError

if TYPE_CHECKING:
    from botocore.client import BaseClient

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]  # roles; the SAM transform
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
POLL_SECONDS = 5.0
_DONE = ("_COMPLETE", "_FAILED")
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys


@dataclass(frozen=True)
class Change:
    """One line of a change set: Add / Modify / Remove a resource, and whether it is replaced."""

    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""


@dataclass(frozen=True)
class ChangeSet:
    stack_name: str
    name: str
    kind: str  # CREATE or UPDATE
    changes: tuple[Change, ...]


def stack_name(stage: str) -> str:
    """The stack of one stage."""
    return f"nailfolio-{stage}"


def deployment_bucket_name(account_id: str, region: str) -> str:
    """The account's bucket for bundles and templates, one per region (as SAM's is)."""
    return f"nailfolio-deploy-{account_id}-{region}"


def ensure_bucket(s3: BaseClient, bucket: str, region: str) -> bool:
    """Make the private deployment bucket if it is missing; True when it was made."""
    if _found(s3, "S3", "HeadBucket", {"Bucket": bucket}, ("404", "NoSuchBucket")):
        return False
    params: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":  # us-east-1 refuses its own name as a location constraint
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    _s3(s3, "CreateBucket", **params)
    block = dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
        True,
    )
    _s3(s3, "PutPublicAccessBlock", Bucket=bucket, PublicAccessBlockConfiguration=block)
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    encryption = {"Rules": [rule]}
    _s3(s3, "PutBucketEncryption", Bucket=bucket, ServerSideEncryptionConfiguration=encryption)
    return True


def upload(s3: BaseClient, bucket: str, prefix: str, body: bytes, suffix: str) -> str:
    """Put `body` at <prefix>/<sha256><suffix> unless it is there already; its key."""
    key = f"{prefix}/{hashlib.sha256(body).hexdigest()}{suffix}"
    if _found(s3, "S3", "HeadObject", {"Bucket": bucket, "Key": key}, ("404", "NoSuchKey")):
        return key
    _s3(s3, "PutObject", Bucket=bucket, Key=key, Body=body)
    return key


def point_code_at(template: dict[str, Any], bucket: str, key: str) -> int:
    """Every Serverless function's CodeUri set to s3://bucket/key; how many there were."""
    functions = [
        resource
        for resource in template.get("Resources", {}).values()
        if resource.get("Type") == "AWS::Serverless::Function"
    ]
    for resource in functions:
        resource["Properties"]["CodeUri"] = f"s3://{bucket}/{key}"
    return len(functions)


def package(
    s3: BaseClient, bucket: str, stage: str, zip_path: Path, template: dict[str, Any]
) -> str:
    """Upload the bundle and the template pointing at it; the template's URL."""
    code_key = upload(s3, bucket, stage, zip_path.read_bytes(), ".zip")
    point_code_at(template, bucket, code_key)
    body = json.dumps(template, indent=1, sort_keys=True).encode()
    template_key = upload(s3, bucket, stage, body, ".template.json")
    region = s3.meta.region_name
    return f"https://{bucket}.s3.{region}.amazonaws.com/{template_key}"


def stack_status(cfn: BaseClient, name: str) -> str | None:
    """The stack's status, or None when there is no such stack."""
    found = _found(
        cfn, "CloudFormation", "DescribeStacks", {"StackName": name}, (), "does not exist"
    )
    stacks = found["Stacks"] if found else []
    return stacks[0]["StackStatus"] if stacks else None


def create_change_set(
    cfn: BaseClient,
    name: str,
    template_url: str,
    parameters: list[dict[str, str]],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> ChangeSet | None:
    """A change set for the stack (CREATE when it does not exist yet), waited for and
    described; None, with the change set deleted, when it would change nothing."""
    status = stack_status(cfn, name)
    if status == "ROLLBACK_COMPLETE":  # a failed first create: only a delete gets out of it
        raise DeployError(
            f"stack {name} failed to create and rolled back; run destroy, then deploy again"
        )
    kind = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    change_set = f"nailfolio-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    _cfn(
        cfn,
        "CreateChangeSet",
        StackName=name,
        ChangeSetName=change_set,
        ChangeSetType=kind,
        TemplateURL=template_url,
        Parameters=parameters,
        Capabilities=CAPABILITIES,
    )
    described = _wait_for_change_set(cfn, name, change_set, sleep)
    if described["Status"] == "FAILED":
        reason = described.get("StatusReason", "")
        delete_change_set(cfn, name, change_set)
        if any(text in reason for text in NO_CHANGES):
            return None
        raise DeployError(f"change set for {name} failed: {reason}")
    return ChangeSet(name, change_set, kind, tuple(_changes(described)))


def _wait_for_change_set(
    cfn: BaseClient, name: str, change_set: str, sleep: Callable[[float], None]
) -> dict[str, Any]:
    while True:
        described = _cfn(cfn, "DescribeChangeSet", StackName=name, ChangeSetName=change_set)
        if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return described
        sleep(POLL_SECONDS)


def _changes(described: Mapping[str, Any]) -> Iterator[Change]:
    for change in described.get("Changes", []):
        resource = change.get("ResourceChange", {})
        yield Change(
            resource.get("Action", ""),
            resource.get("LogicalResourceId", ""),
            resource.get("ResourceType", ""),
            resource.get("Replacement", "") or "",
        )


def delete_change_set(cfn: BaseClient, name: str, change_set: str) -> None:
    """Drop a change set (a dry run's, or one with nothing to do); a CREATE's empty stack too."""
    _cfn(cfn, "DeleteChangeSet", StackName=name, ChangeSetName=change_set)
    if stack_status(cfn, name) == "REVIEW_IN_PROGRESS":
        _cfn(cfn, "DeleteStack", StackName=name)


def execute(
    cfn: BaseClient,
    change_set: ChangeSet,
    on_event: Callable[[str], None] = lambda line: None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Execute the change set, report each stack event, and return the stack's outputs; a
    DeployError when it rolled back."""
    _cfn(cfn, "ExecuteChangeSet", StackName=change_set.stack_name, ChangeSetName=change_set.name)
    status = wait_for_stack(cfn, change_set.stack_name, on_event, sleep=sleep)
    if "ROLLBACK" in status or status.endswith("_FAILED"):
        raise DeployError(f"stack {change_set.stack_name} ended {status}: the events above say why")
    return outputs(cfn, change_set.stack_name)


def wait_for_stack(
    cfn: BaseClient,
    name: str,
    on_event: Callable[[str], None],
    *,
    sleep: Callable[[float], None] = time.sleep,
    gone_ok: bool = False,
) -> str:
    """Poll the stack until its status settles, reporting each new event; the status
    ("DELETE_COMPLETE" when `gone_ok` and the stack is no more)."""
    seen: set[str] = set()
    while True:
        status = stack_status(cfn, name)
        if status is None:
            if gone_ok:
                return "DELETE_COMPLETE"
            raise DeployError(f"stack {name} disappeared while deploying")
        for event in reversed(_events(cfn, name)):
            if event["EventId"] not in seen:
                seen.add(event["EventId"])
                on_event(_event_line(event))
        if status.endswith(_DONE) and not status.endswith("_IN_PROGRESS"):
            return status
        sleep(POLL_SECONDS)


def _events(cfn: BaseClient, name: str) -> list[dict[str, Any]]:
    try:
        return _cfn(cfn, "DescribeStackEvents", StackName=name).get("StackEvents", [])
    except DeployError:
        return []  # deleted between the two calls


def _event_line(event: Mapping[str, Any]) -> str:
    reason = event.get("ResourceStatusReason")
    line = f"{event.get('ResourceStatus', '')} {event.get('LogicalResourceId', '')}"
    return f"{line} ({reason})" if reason else line


def outputs(cfn: BaseClient, name: str) -> dict[str, str]:
    """The stack's outputs by key."""
    stacks = _cfn(cfn, "DescribeStacks", StackName=name)["Stacks"]
    return {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}


def stack_buckets(cfn: BaseClient, name: str) -> list[str]:
    """The names of the stack's buckets."""
    found = _cfn(cfn, "ListStackResources", StackName=name).get("StackResourceSummaries", [])
    return [
        item["PhysicalResourceId"]
        for item in found
        if item["ResourceType"] == "AWS::S3::Bucket" and item.get("PhysicalResourceId")
    ]


def empty_bucket(s3: BaseClient, bucket: str) -> int:
    """Delete every object version and delete marker in the bucket; how many went."""
    deleted = 0
    params: dict[str, Any] = {"Bucket": bucket}
    while True:
        page = _s3(s3, "ListObjectVersions", **params)
        doomed = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for kind in ("Versions", "DeleteMarkers")
            for item in page.get(kind, [])
        ]
        for start in range(0, len(doomed), _DELETE_BATCH):
            batch = doomed[start : start + _DELETE_BATCH]
            answer = _s3(s3, "DeleteObjects", Bucket=bucket, Delete={"Objects": batch})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise DeployError(f"could not empty {bucket}: {first['Key']}: {first['Message']}")
            deleted += len(batch)
        if not page.get("IsTruncated"):
            return deleted
        params["KeyMarker"] = page.get("NextKeyMarker")
        params["VersionIdMarker"] = page.get("NextVersionIdMarker")


def destroy(
    cfn: BaseClient,
    s3: BaseClient,
    name: str,
    on_event: Callable[[str], None] = lambda line: None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Empty the stack's buckets, then delete the stack and wait until it is gone."""
    if stack_status(cfn, name) is None:
        raise DeployError(f"there is no stack {name} to destroy")
    for bucket in stack_buckets(cfn, name):
        on_event(f"emptied {bucket}: {empty_bucket(s3, bucket)} objects")
    _cfn(cfn, "DeleteStack", StackName=name)
    status = wait_for_stack(cfn, name, on_event, sleep=sleep, gone_ok=True)
    if status != "DELETE_COMPLETE":
        raise DeployError(f"stack {name} ended {status}: the events above say why")


def _cfn(client: BaseClient, operation: str, **params: Any) -> dict[str, Any]:
    return _call(client, "CloudFormation", operation, params)


def account_id(sts: BaseClient) -> str:
    """The AWS account the credentials belong to (the deployment bucket is named for it)."""
    return str(_call(sts, "STS", "GetCallerIdentity", {})["Account"])


def _s3(client: BaseClient, operation: str, **params: Any) -> dict[str, Any]:
    return _call(client, "S3", operation, params)


class _Missing(Exception):
    """The answer said there is no such thing (see _found)."""


def _found(
    client: BaseClient,
    service: str,
    operation: str,
    params: dict[str, Any],
    codes: tuple[str, ...],
    text: str = "",
) -> Any:
    """The answer, or None when its error code is one of `codes` (or its message holds
    `text`): not there. Other failures are _call's."""

    def translate(code: str, message: str, *_: Any) -> Exception:
        if code in codes or (text and text in message):
            return _Missing()
        named = ", ".join(str(value) for value in params.values())  # the bucket, the stack
        return DeployError(f"{service} {operation} on {named} failed ({code}: {message})")

    try:
        return call(client, service, operation, params, translate)
    except _Missing:
        return None


def _call(client: BaseClient, service: str, operation: str, params: dict[str, Any]) -> Any:
    def translate(code: str, message: str, *_: Any) -> Exception:
        return DeployError(f"{service} {operation} failed ({code}: {message})")

    return call(client, service, operation, params, translate)


def stack_parameters(
    stage: str,
    admin_email: str | None,
    domain: str | None,
    certificate_arn: str | None,
    *,
    exists: bool,
) -> list[dict[str, Any]]:
    """The stack's parameters; on an update, what is not given keeps its previous value."""
    if bool(domain) != bool(certificate_arn):
        raise DeployError("--domain and --certificate-arn go together: give both or neither")
    if not admin_email and not exists:
        raise DeployError("the first deploy of a stage needs --admin-email (the admins' address)")
    given = {"Stage": stage, "AdminEmail": admin_email, "DomainName": domain}
    given["CertificateArn"] = certificate_arn
    return [
        {"ParameterKey": key, "UsePreviousValue": True}
        if value is None and exists
        else {"ParameterKey": key, "ParameterValue": value or ""}
        for key, value in given.items()
    ]
