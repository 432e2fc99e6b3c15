"""The template merged into Chalice's by `chalice package --merge-template`: deploy/resources.yaml
(buckets, CloudFront, SNS, SQS, the alarm) plus what is derived from the library here, so the
tests and the stack never disagree:

- the DynamoDB tables from nailfolio.aws.dynamodb and dynamodb_comment_store (on demand,
  encrypted, point-in-time recovery, TTL where the library sets one);
- the Cognito user pool, app client and role groups from nailfolio.aws.cognito_pool;
- the CSP of the response-headers policies from nailfolio.web.csp, the cookies and headers
  the API reads from nailfolio.web.api, the API Gateway stage from .chalice/config.json;
- each Lambda's environment (LAMBDA_ENVIRONMENT: the one place settings meet resources),
  its runtime, the rebuild queue's ARN and the content bucket in the upload rule's pattern.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from nailfolio import config
from nailfolio.aws import cognito_pool, dynamodb
from nailfolio.aws.dynamodb_comment_store import table_definition as comments_table
from nailfolio.errors import DeployError
from nailfolio.web import api, csp

RUNTIME = "python3.12"  # Chalice would write the packaging interpreter's version
# Chalice's logical ids of the functions app.py declares, by their Chalice names.
FUNCTIONS = {
    "api_handler": "APIHandler",
    "moderate": "Moderate",
    "rebuild": "Rebuild",
    "backfill_sentiment": "BackfillSentiment",
    "comment_digest": "CommentDigest",
}
REBUILD_EVENT = "RebuildSqsEventSource"
MODERATE_EVENT = "ModerateEvent"
TABLES = {  # logical id: (CreateTable parameters, UpdateTimeToLive parameters or None)
    "CatalogTable": (dynamodb.catalog_table, None),
    "CommentsTable": (comments_table, None),
    "RateLimitTable": (dynamodb.rate_limit_table, dynamodb.rate_limit_time_to_live),
    "RevocationTable": (dynamodb.revocation_table, dynamodb.revocation_time_to_live),
}
_EVERY = tuple(FUNCTIONS)
# What CloudFront adds to every API request (X-Nailfolio-Origin) and the API compares: the
# stack's own UUID, which nobody outside the account sees. With it the API trusts the
# viewer address CloudFront names; a direct call to API Gateway cannot carry it.
ORIGIN_SECRET = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
# config.AWS_SETTINGS name: (its value in the stack, the functions that get it). The API's
# function must not see the distribution: CloudFront depends on the API, not the reverse.
LAMBDA_ENVIRONMENT: dict[str, tuple[Any, tuple[str, ...]]] = {
    "catalog_table": ({"Ref": "CatalogTable"}, _EVERY),
    "comments_table": ({"Ref": "CommentsTable"}, _EVERY),
    "rate_limit_table": ({"Ref": "RateLimitTable"}, _EVERY),
    "revocation_table": ({"Ref": "RevocationTable"}, _EVERY),
    "content_bucket": ({"Ref": "ContentBucket"}, _EVERY),
    "assets_bucket": ({"Ref": "AssetsBucket"}, _EVERY),
    "cognito_pool_id": ({"Ref": "UserPool"}, _EVERY),
    "cognito_client_id": ({"Ref": "UserPoolClient"}, _EVERY),
    "topic_arn": ({"Ref": "AdminTopic"}, _EVERY),
    "rebuild_queue_url": ({"Ref": "RebuildQueue"}, _EVERY),
    "site_bucket": ({"Ref": "SiteBucket"}, ("rebuild",)),
    "cloudfront_distribution": ({"Ref": "SiteDistribution"}, ("rebuild",)),
    "origin_secret": (ORIGIN_SECRET, ("api_handler",)),
}
# Plain variables (not AWS_SETTINGS): the backend, and the address the rebuild renders for.
# No NAILFOLIO_ROOT: the rebuild renders in /tmp (config.lambda_settings), its project files
# copied there from the read-only bundle.
SITE_URL = {
    "Fn::If": [
        "HasDomain",
        {"Fn::Sub": "https://${DomainName}"},
        {"Fn::Sub": "https://${SiteDistribution.DomainName}"},
    ]
}
# Who may read S3's answer to a presigned POST (the form itself is the authority): the site.
# Not SITE_URL: the distribution depends on the content bucket (through the API's role), so
# the bucket cannot name it; without a domain, any CloudFront address.
STUDIO_ORIGINS = {
    "Fn::If": ["HasDomain", [{"Fn::Sub": "https://${DomainName}"}], ["https://*.cloudfront.net"]]
}
PLAIN_ENVIRONMENT: dict[str, tuple[Any, tuple[str, ...]]] = {
    "NAILFOLIO_BACKEND": ("aws", _EVERY),
    "NAILFOLIO_SITE_URL": (SITE_URL, ("rebuild", "comment_digest")),  # the digest's link
}
# The headers the API reads (nailfolio/web); its cookies are added from nailfolio.web.api.
# CloudFront-Viewer-Address is CloudFront's own (the viewer's ip:port, not forgeable through
# CloudFront): behind it, API Gateway's source IP is an edge's, not the client's.
API_HEADERS = ("Content-Type", "Idempotency-Key", "Origin", "Accept", "CloudFront-Viewer-Address")


def variable(name: str) -> str:
    """The environment variable of an AWS_SETTINGS name."""
    return config.AWS_SETTINGS[name].variable


def environment(function: str, tuning: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The environment variables of one Chalice function ("rebuild"...), with the owner's
    `tuning` (config.TUNING_VARIABLES that deploy runs with) for every function."""
    found = {
        variable(name): value for name, (value, to) in LAMBDA_ENVIRONMENT.items() if function in to
    }
    found.update({name: value for name, (value, to) in PLAIN_ENVIRONMENT.items() if function in to})
    return found | dict(tuning or {})


def merge_template(
    project_root: Path, stage: str, tuning: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The whole template to merge into Chalice's for `stage`, its functions given `tuning`."""
    template = load_yaml(project_root / "deploy" / "resources.yaml")
    template["Parameters"]["Stage"]["Default"] = stage
    resources = template["Resources"]
    resources.update(table_resources())
    resources.update(user_pool_resources())
    _fill_cloudfront(resources, _api_stage(project_root, stage))
    resources.update(function_overrides(tuning))
    template["Outputs"].update(
        {
            "UserPoolId": {"Value": {"Ref": "UserPool"}},
            "UserPoolClientId": {"Value": {"Ref": "UserPoolClient"}},
        }
    )
    return template


def table_resources() -> dict[str, Any]:
    """One AWS::DynamoDB::Table per library table, from its CreateTable parameters."""
    resources = {}
    for logical_id, (create, time_to_live) in TABLES.items():
        properties = copy.deepcopy(create("unnamed"))
        del properties["TableName"]  # CloudFormation names it: one stack per stage, no clash
        properties["SSESpecification"] = {"SSEEnabled": True}
        properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
        if time_to_live:
            properties["TimeToLiveSpecification"] = time_to_live("unnamed")[
                "TimeToLiveSpecification"
            ]
        resources[logical_id] = {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Retain",
            "Properties": properties,
        }
    return resources


def user_pool_resources() -> dict[str, Any]:
    """The user pool, its app client and one group per role, from nailfolio.aws.cognito_pool
    (Cognito's default password policy: none is given)."""
    pool = cognito_pool.user_pool("unnamed")
    del pool["PoolName"]
    pool["UserPoolName"] = {"Fn::Sub": "${AWS::StackName}-users"}
    pool["VerificationMessageTemplate"] = {"DefaultEmailOption": "CONFIRM_WITH_CODE"}
    pool["AccountRecoverySetting"] = {
        "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]
    }
    client = cognito_pool.app_client("unnamed")
    client["UserPoolId"] = {"Ref": "UserPool"}
    resources: dict[str, Any] = {
        "UserPool": {"Type": "AWS::Cognito::UserPool", "Properties": pool},
        "UserPoolClient": {"Type": "AWS::Cognito::UserPoolClient", "Properties": client},
    }
    for group in cognito_pool.groups("unnamed"):
        resources[f"{group['GroupName'].capitalize()}Group"] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {"GroupName": group["GroupName"], "UserPoolId": {"Ref": "UserPool"}},
        }
    return resources


def _fill_cloudfront(resources: dict[str, Any], api_stage: str) -> None:
    """The project's CSP in the headers policies, the API's cookies and headers in its
    origin request policy, and its stage as the API origin's path."""
    policies = (
        ("SiteHeadersPolicy", "/designs/"),
        ("AdminHeadersPolicy", "/admin/"),
        ("ModerationHeadersPolicy", "/admin/moderation/"),
    )
    for logical_id, path in policies:
        policy = resources[logical_id]["Properties"]["ResponseHeadersPolicyConfig"]
        headers = copy.deepcopy(policy["SecurityHeadersConfig"])
        headers["ContentSecurityPolicy"]["ContentSecurityPolicy"] = csp.csp_header(path)
        policy["SecurityHeadersConfig"] = headers
    studio = resources["StudioHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    headers = copy.deepcopy(studio["SecurityHeadersConfig"])
    bucket = csp.csp_header("/studio/", "https://${ContentBucket.RegionalDomainName}")
    headers["ContentSecurityPolicy"]["ContentSecurityPolicy"] = {"Fn::Sub": bucket}
    studio["SecurityHeadersConfig"] = headers
    cors = resources["ContentBucket"]["Properties"]["CorsConfiguration"]["CorsRules"][0]
    cors["AllowedOrigins"] = STUDIO_ORIGINS
    request = resources["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    request["CookiesConfig"]["Cookies"] = [api.SESSION_COOKIE, api.REFRESH_COOKIE]
    request["HeadersConfig"]["Headers"] = list(API_HEADERS)
    distribution = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = (o for o in distribution["Origins"] if o["Id"] == "api")
    origin["OriginPath"] = f"/{api_stage}"
    origin["OriginCustomHeaders"] = [
        {"HeaderName": api.ORIGIN_HEADER, "HeaderValue": ORIGIN_SECRET}
    ]


def function_overrides(tuning: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What Chalice cannot say itself, merged over its function resources."""
    overrides: dict[str, Any] = {
        logical_id: {
            "Properties": {
                "Runtime": RUNTIME,
                "Environment": {"Variables": environment(name, tuning)},
            }
        }
        for name, logical_id in FUNCTIONS.items()
    }
    only_content = {"bucket": {"name": [{"Ref": "ContentBucket"}]}}
    overrides["Moderate"]["Properties"]["Events"] = {
        MODERATE_EVENT: {"Properties": {"Pattern": {"detail": only_content}}}
    }
    return overrides


def finish_packaged(template: dict[str, Any]) -> None:
    """What a merge cannot do (it merges dicts key by key): the rebuild's event source reads
    the stack's queue, not the ARN Chalice made up from the queue's name."""
    try:
        source = template["Resources"]["Rebuild"]["Properties"]["Events"][REBUILD_EVENT]
    except KeyError:
        raise DeployError(
            f"the packaged template has no Rebuild.{REBUILD_EVENT}: app.py must declare "
            "@app.on_sqs_message(..., name='rebuild')"
        ) from None
    source["Properties"]["Queue"] = {"Fn::GetAtt": ["RebuildQueue", "Arn"]}


def _api_stage(project_root: Path, stage: str) -> str:
    """API Gateway's stage name for a Chalice stage (the first part of every API path)."""
    chalice = json.loads((project_root / "chalice_app" / ".chalice" / "config.json").read_text())
    found = chalice.get("stages", {}).get(stage, {}).get("api_gateway_stage")
    return found or chalice.get("api_gateway_stage") or "api"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, !GetAtt a.b...) as their long ones."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_yaml(path: Path) -> dict[str, Any]:
    """A CloudFormation YAML template as the JSON form Chalice merges."""
    try:
        loaded = yaml.load(path.read_text(), Loader=_CfnLoader)
    except yaml.YAMLError as exc:
        raise DeployError(f"{path}: not a valid template ({exc})") from None
    # A JSON round trip drops the anchors' shared objects: every resource its own copy.
    return json.loads(json.dumps(loaded))


def fill_parameters(template: Mapping[str, Any], values: Mapping[str, str]) -> list[dict[str, str]]:
    """CloudFormation Parameters for `values`, refusing a name the template lacks."""
    unknown = sorted(set(values) - set(template.get("Parameters", {})))
    if unknown:
        raise DeployError(f"the template has no parameter {', '.join(unknown)}")
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]
