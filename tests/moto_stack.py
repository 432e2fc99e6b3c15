"""The deployed stack's resources on moto's server, made from the template deploy uses.

`make_stack` reads stack_template.merge_template (deploy/resources.yaml with what it derives
from the library) and makes what moto keeps through the API calls CloudFormation would make:
the tables from stack_template.TABLES, the user pool, its client and groups, the buckets
with their encryption and access blocks, the admins' topic, the rebuild queue with its
dead-letter queue and redrive policy, the origin access control and the distribution, each
from the template's own properties. Chalice's functions, the API and IAM are not made: the
tests deliver the Lambdas' events themselves. `Stack.environment` is a Lambda's environment
as the template sets it, its Refs resolved to these resources.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from conftest import REPO
from moto_dynamodb import REGION

from nailfolio.aws import stack_template

ACCOUNT = "123456789012"  # moto's
ADMIN_EMAIL = "admins@studio.example"
_DROP = object()  # AWS::NoValue
# Created in this order (a queue's redrive policy names its dead-letter queue's ARN).
ORDER = (
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::SQS::Queue",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::Distribution",
)
# CloudFormation lists that the CloudFront API writes as {"Quantity": n, "Items": [...]},
# and CloudFormation's names for the API's.
_QUANTIFIED = frozenset(
    {"Aliases", "Origins", "CacheBehaviors", "CustomErrorResponses", "FunctionAssociations"}
    | {"OriginSSLProtocols", "CachedMethods", "OriginCustomHeaders"}
)
_RENAMED = {
    "IPV6Enabled": "IsIPV6Enabled",
    "OriginSSLProtocols": "OriginSslProtocols",
    "OriginCustomHeaders": "CustomHeaders",
}


@dataclass
class Stack:
    """The resources made: what Ref and Fn::GetAtt give for each logical id."""

    server: Any
    stage: str
    template: dict[str, Any]
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"nailfolio-{self.stage}"

    def physical(self, logical_id: str) -> str:
        """The name CloudFormation would give a resource (lower case: buckets want it)."""
        return f"{self.name}-{logical_id.lower()}"

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic function worked out against these resources."""
        if isinstance(value, list):
            return [found for item in value if (found := self.resolve(item)) is not _DROP]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (name, argument), *_ = value.items()
            if name in _INTRINSICS:
                return _INTRINSICS[name](self, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _DROP}

    def environment(self, function: str) -> dict[str, str]:
        """The Lambda `function`'s variables as the template sets them, pointed at moto (the
        Lambda runtime itself gives AWS_REGION and LAMBDA_TASK_ROOT)."""
        found = self.resolve(stack_template.environment(function))
        assert all(isinstance(value, str) for value in found.values()), found
        return found | {"NAILFOLIO_AWS_ENDPOINT_URL": self.server.endpoint}

    def resources(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each resource of `kind`, its properties resolved only when it is its turn (a
        queue's redrive policy after its dead-letter queue is made)."""
        found = [(k, r) for k, r in self.template["Resources"].items() if r.get("Type") == kind]
        for logical_id, resource in sorted(found, key=_dead_letters_first):
            yield logical_id, self.resolve(resource.get("Properties", {}))

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::NoValue": _DROP,
            "AWS::StackName": self.name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{self.name}/1d2c",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template["Parameters"]:
            return _parameters(self.stage)[name]
        return self.refs.get(name, f"unmade-{name}")  # the API, a function: not on moto

    def _get_att(self, argument: list[str]) -> str:
        logical_id, attribute = argument
        return self.attrs.get((logical_id, attribute), f"unmade-{logical_id}.{attribute}")

    def _sub(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if "." in name and not name.startswith("AWS::"):
                return self._get_att(name.split(".", 1))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def _if(self, argument: list[Any]) -> Any:
        condition, then, otherwise = argument
        chosen = self.resolve(self.template["Conditions"][condition])
        return self.resolve(then if chosen else otherwise)


_INTRINSICS: dict[str, Callable[[Stack, Any], Any]] = {
    "Ref": lambda stack, name: stack._ref(name),
    "Fn::GetAtt": lambda stack, argument: stack._get_att(argument),
    "Fn::Sub": lambda stack, text: stack._sub(text),
    "Fn::If": lambda stack, argument: stack._if(argument),
    "Fn::Not": lambda stack, argument: not stack.resolve(argument[0]),
    "Fn::Equals": lambda stack, argument: stack.resolve(argument[0]) == stack.resolve(argument[1]),
    "Fn::Select": lambda stack, argument: stack.resolve(argument[1])[int(argument[0])],
    "Fn::Split": lambda stack, argument: stack.resolve(argument[1]).split(argument[0]),
}


def _parameters(stage: str) -> dict[str, str]:
    """The deploy command's parameters: no domain of its own (CloudFront's name serves)."""
    return {"Stage": stage, "AdminEmail": ADMIN_EMAIL, "DomainName": "", "CertificateArn": ""}


def make_stack(server: Any, stage: str = "test") -> Stack:
    """The template's resources on `server` (see the module)."""
    stack = Stack(server, stage, stack_template.merge_template(REPO, stage))
    _make_tables(stack)
    for kind in ORDER:
        for logical_id, properties in stack.resources(kind):
            _MAKERS[kind](stack, logical_id, properties)
    return stack


def _dead_letters_first(item: tuple[str, dict[str, Any]]) -> bool:
    return "RedrivePolicy" in item[1].get("Properties", {})


def _make_tables(stack: Stack) -> None:
    """Each table from the CreateTable parameters the template's are derived from."""
    dynamodb = stack.server.client("dynamodb")
    for logical_id, (create, time_to_live) in stack_template.TABLES.items():
        name = stack.physical(logical_id)
        dynamodb.create_table(**create(name))
        if time_to_live:
            dynamodb.update_time_to_live(**time_to_live(name))
        stack.refs[logical_id] = name


def _bucket(stack: Stack, logical_id: str, properties: dict[str, Any]) -> None:
    s3, name = stack.server.client("s3"), stack.physical(logical_id)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    rules = [  # CloudFormation drops the API's "Apply" from the rule's name
        {"ApplyServerSideEncryptionByDefault": rule.pop("ServerSideEncryptionByDefault"), **rule}
        for rule in properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    ]
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    s3.put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
    )
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=properties["OwnershipControls"])
    if "VersioningConfiguration" in properties:
        s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration=properties["VersioningConfiguration"]
        )
    stack.refs[logical_id] = name
    stack.attrs[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
    stack.attrs[(logical_id, "RegionalDomainName")] = f"{name}.s3.{REGION}.amazonaws.com"


def _topic(stack: Stack, logical_id: str, properties: dict[str, Any]) -> None:
    attributes = {"DisplayName": properties["DisplayName"]}
    made = stack.server.client("sns").create_topic(
        Name=stack.physical(logical_id), Attributes=attributes
    )
    stack.refs[logical_id] = made["TopicArn"]


def _subscription(stack: Stack, logical_id: str, properties: dict[str, Any]) -> None:
    stack.server.client("sns").subscribe(**properties)


def _queue(stack: Stack, logical_id: str, properties: dict[str, Any]) -> None:
    sqs = stack.server.client("sqs")
    attributes = {
        key: json.dumps(value) if isinstance(value, dict) else str(value).lower()
        for key, value in properties.items()
    }
    url = sqs.create_queue(QueueName=stack.physical(logical_id), Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    stack.refs[logical_id] = url
    stack.attrs[(logical_id, "Arn")] = arn["QueueArn"]
    stack.attrs[(logical_id, "QueueName")] = stack.physical(logical_id)


def _user_pool(stack: Stack, logical_id: str, properties: dict[str, Any]) -> None:
    properties["PoolName"] = properties.pop("UserPoolName")
    made = stack.server.client("cognito-idp").create_user_pool(**properties)
    stack.refs[logical_id] = made["UserPool"]["Id"]


def _app_client(stack: Stack, logical_id: str, properties: dict[str, Any]) -> None:
    made = stack.server.client("cognito-idp").create_user_pool_client(**properties)
    stack.refs[logical_id] = made["UserPoolClient"]["ClientId"]


def _group(stack: Stack, logical_id: str, properties: dict[str, Any]) -> None:
    stack.server.client("cognito-idp").create_group(**properties)


def _origin_access(stack: Stack, logical_id: str, properties: dict[str, Any]) -> None:
    made = stack.server.client("cloudfront").create_origin_access_control(**properties)
    stack.attrs[(logical_id, "Id")] = made["OriginAccessControl"]["Id"]


def _distribution(stack: Stack, logical_id: str, properties: dict[str, Any]) -> None:
    config = _api_shape(properties["DistributionConfig"])
    config["CallerReference"] = stack.physical(logical_id)
    made = stack.server.client("cloudfront").create_distribution(DistributionConfig=config)
    stack.refs[logical_id] = made["Distribution"]["Id"]
    stack.attrs[(logical_id, "DomainName")] = made["Distribution"]["DomainName"]


def _api_shape(value: Any) -> Any:
    """A CloudFormation DistributionConfig in the CloudFront API's shape."""
    if isinstance(value, list):
        return [_api_shape(item) for item in value]
    if not isinstance(value, dict):
        return value
    shaped: dict[str, Any] = {}
    for key, item in value.items():
        if key in _RENAMED:
            shaped[_RENAMED[key]] = _quantified(item) if key in _QUANTIFIED else item
        elif key == "AllowedMethods":
            cached = value.get("CachedMethods", ["GET", "HEAD"])
            shaped[key] = _quantified(item) | {"CachedMethods": _quantified(cached)}
        elif key == "ResponseCode":
            shaped[key] = str(item)
        elif key in _QUANTIFIED:
            if key != "CachedMethods":
                shaped[key] = _quantified(_api_shape(item))
        else:
            shaped[key] = _api_shape(item)
    if "OriginProtocolPolicy" in shaped:  # a CustomOriginConfig: the ports CFN defaults
        shaped = {"HTTPPort": 80, "HTTPSPort": 443} | shaped
    return shaped


def _quantified(items: list[Any]) -> dict[str, Any]:
    return {"Quantity": len(items), "Items": items}


_MAKERS: dict[str, Callable[[Stack, str, dict[str, Any]], None]] = {
    "AWS::S3::Bucket": _bucket,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::Subscription": _subscription,
    "AWS::SQS::Queue": _queue,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolClient": _app_client,
    "AWS::Cognito::UserPoolGroup": _group,
    "AWS::CloudFront::OriginAccessControl": _origin_access,
    "AWS::CloudFront::Distribution": _distribution,
}
