"""CI's checks of the deployment package: the real `chalice package` run once per session
(cp312 wheels from the cache), its template translated by aws-sam-translator and linted by
cfn-lint, its sizes, its handler imported by a clean Python 3.12, its security by reading it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nailfolio import config
from nailfolio.aws import bundle, cognito_pool, dynamodb, stack_template
from nailfolio.aws.cloudformation import point_code_at
from nailfolio.aws.dynamodb_comment_store import table_definition
from nailfolio.identity.provider import ROLES
from nailfolio.web import api, csp

ROOT = Path(__file__).resolve().parents[1]
STAGE = "prod"
# What deploy hands on from its environment (config.TUNING_VARIABLES): the bundle is made with it.
TUNING = {"NAILFOLIO_IMAGE_WIDTHS": "480,960,1200", "NAILFOLIO_REVIEW_AT": "30"}
REGION = "us-east-1"
PYENV_PYTHON312 = Path("/root/.pyenv/versions/3.12.1/bin/python3.12")
# A real interpreter, not pyenv's shim (which answers "command not found" for a version
# that is installed but not selected).
PYTHON312 = os.environ.get("NAILFOLIO_PYTHON312") or (
    str(PYENV_PYTHON312) if PYENV_PYTHON312.is_file() else shutil.which("python3.12") or ""
)
# cfn-lint warnings accepted, each with why.
ACCEPTED_WARNINGS = {
    # CertificateArn is "" when no domain is given, which the ACM ARN pattern cannot match;
    # the parameter's AllowedPattern checks it instead.
    "W1030": "CertificateArn",
}
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> bundle.Bundle:
    """One real packaging per test run, shared by xdist's workers (the first one makes it)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    base = tmp_path_factory.getbasetemp()
    shared = base.parent / f"package-{run}" if run else base / "package"
    shared.mkdir(parents=True, exist_ok=True)
    out, done = shared / "out", shared / "done.json"
    with (shared / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.is_file():
            python = Path(PYTHON312) if PYTHON312 else None  # the import test says what's missing
            made = bundle.package_app(
                ROOT,
                STAGE,
                out,
                region=REGION,
                work=shared / "work",
                bytecode_python=python,
                tuning=TUNING,
            )
            done.write_text(json.dumps([made.zipped_bytes, made.unzipped_bytes]))
    zipped, unzipped = json.loads(done.read_text())
    return bundle.Bundle(out / "deployment.zip", out / "sam.json", zipped, unzipped)


@pytest.fixture(scope="session")
def sam(packaged: bundle.Bundle) -> dict[str, Any]:
    return json.loads(packaged.template_path.read_text())


@pytest.fixture(scope="session")
def unzipped(packaged: bundle.Bundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bundle")
    with zipfile.ZipFile(packaged.zip_path) as archive:
        archive.extractall(folder)
    return folder


def resources(sam: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {key: r for key, r in sam["Resources"].items() if r["Type"] == kind}


def props(sam: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return sam["Resources"][logical_id]["Properties"]


def test_bundle_is_within_lambda_limits(packaged: bundle.Bundle) -> None:
    assert packaged.zipped_bytes < 50 * 2**20
    assert packaged.unzipped_bytes < 250 * 2**20
    print(  # the figures the issue asks to report (seen with -s)
        f"\nbundle: {packaged.zipped_bytes / 2**20:.1f} MB zipped, "
        f"{packaged.unzipped_bytes / 2**20:.1f} MB unzipped"
    )


def test_bundle_sizes_refuse_what_lambda_would(tmp_path: Path) -> None:
    heavy = tmp_path / "heavy.zip"
    with zipfile.ZipFile(heavy, "w") as archive:
        archive.writestr("numpy/__init__.py", "")
    with pytest.raises(bundle.DeployError, match="numpy"):
        bundle.bundle_sizes(heavy)


def test_bundle_holds_cp312_wheels_nailfolio_and_the_project(unzipped: Path) -> None:
    tops = {path.name for path in unzipped.iterdir()}
    assert {"app.py", "chalice", "nailfolio", "project", "PIL", "jwt", "pelican"} <= tops
    assert "pillow_heif" in tops
    assert not tops & {"onnxruntime", "numpy", "vaderSentiment", "bin"}
    project = unzipped / "project"
    assert (project / "pelicanconf.py").is_file() and (project / "publishconf.py").is_file()
    assert (project / "theme" / "templates").is_dir()
    assert (project / "content" / "pages").is_dir()
    extensions = [path.name for path in unzipped.rglob("*.so")]
    assert extensions, "no compiled extension: Pillow's should be there"
    other_pythons = [name for name in extensions if ".cpython-" in name and "-312-" not in name]
    assert other_pythons == []
    assert all("x86_64" in name or ".abi3." in name for name in extensions if "cpython" in name)
    compiled = [path.name for path in unzipped.rglob("*.pyc")]
    # precompiled, since /var/task is read-only (Chalice packages no __pycache__ of app.py)
    assert (unzipped / "nailfolio" / "web" / "__pycache__" / "api.cpython-312.pyc").is_file()
    assert {name.rsplit(".", 2)[-2] for name in compiled} == {"cpython-312"}
    assert not (unzipped / "pelican" / "tests").exists()


def test_bundle_keeps_the_botocore_models_of_every_client_the_library_makes(
    unzipped: Path,
) -> None:
    made = set()
    for path in (ROOT / "nailfolio").rglob("*.py"):
        made |= set(
            re.findall(
                r"(?<!\w)(?:_aws_)?client\((?:settings, )?\"([a-z0-9-]+)\"", path.read_text()
            )
        )
    assert {"dynamodb", "s3", "cognito-idp"} <= made
    assert made <= bundle.BOTOCORE_SERVICES
    kept = {path.name for path in (unzipped / "botocore" / "data").iterdir() if path.is_dir()}
    assert kept == bundle.BOTOCORE_SERVICES


def test_bytecode_comes_from_the_lambdas_python_only(tmp_path: Path) -> None:
    other = tmp_path / "python3.11"
    other.write_text("#!/bin/sh\necho 3.11\n")
    other.chmod(0o755)
    with pytest.raises(bundle.DeployError, match=r"Python 3\.11; .* must come from Python 3\.12"):
        bundle.compile_bytecode(tmp_path, other)


def test_every_function_runs_python312_whatever_chalice_packaged_with(
    sam: dict[str, Any],
) -> None:
    import sys

    from chalice.config import Config

    # Chalice alone writes the packaging interpreter's version (a python3.12 "runtime" key
    # in .chalice/config.json is ignored): the merged template overrides it.
    assert Config().lambda_python_version == f"python{sys.version_info[0]}.{sys.version_info[1]}"
    functions = resources(sam, "AWS::Serverless::Function")
    assert set(functions) == set(stack_template.FUNCTIONS.values())
    assert {f["Properties"]["Runtime"] for f in functions.values()} == {"python3.12"}
    assert {f["Properties"]["Architectures"][0] for f in functions.values()} == {"x86_64"}


def test_handler_module_imports_from_the_bundle_alone_in_python312(unzipped: Path) -> None:
    python = Path(PYTHON312 or "python3.12")
    assert python.is_file(), (
        f"no Python 3.12 at {python}: install one (pyenv install 3.12) or set NAILFOLIO_PYTHON312"
    )
    script = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); start = time.perf_counter()\n"
        "import app\n"
        "took = time.perf_counter() - start\n"
        "import boto3\n"
        "boto3.session.Session().client('dynamodb', region_name='us-east-1')\n"
        "first_client = time.perf_counter() - start\n"
        "import PIL.Image, jwt.algorithms, pelican, markdown\n"
        "from nailfolio.gallery import events, scaling\n"  # the hooks' imports, libvips loaded
        "chain = scaling.ScaleChain(PIL.Image.new('RGB', (64, 48)))\n"
        "assert chain.scaled(32, 24).size == (32, 24)\n"
        # HEIC through pillow-heif's libheif and AVIF through Pillow's libavif, both cp312
        "import io, pillow_heif\n"
        "from nailfolio.gallery.images import load_image_bytes\n"
        "from nailfolio.gallery.settings import ImageSettings\n"
        "assert pillow_heif.__file__.startswith(sys.argv[1])\n"
        "for fmt in ('HEIF', 'AVIF'):\n"
        "    made, photo = io.BytesIO(), PIL.Image.new('RGB', (64, 48))\n"
        "    if fmt == 'HEIF':\n"
        "        pillow_heif.from_pillow(photo).save(made)\n"
        "    else:\n"
        "        photo.save(made, fmt)\n"
        "    assert load_image_bytes(made.getvalue(), ImageSettings(), 'a.img').width == 64\n"
        "assert sys.version_info[:2] == (3, 12)\n"
        "outside = [p for p in sys.path[1:] if 'site-packages' in p]\n"
        "print(took, first_client, app.app.app_name, PIL.Image.__file__, outside)\n"
    )
    done = subprocess.run(
        # -I: no user site, no PYTHON* variables; -B: no bytecode written (/var/task is read-only)
        [str(python), "-I", "-B", "-c", script, str(unzipped)],
        capture_output=True,
        text=True,
        cwd=unzipped,
        env={"PATH": os.environ.get("PATH", "")},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    took, first_client, name, pillow, outside = done.stdout.split(" ", 4)
    assert name == "nailfolio"
    assert pillow.startswith(str(unzipped))  # not from any site-packages
    # the 3.12 interpreter's own site-packages (pip only) may be listed; ours never is
    assert "3.11" not in outside
    print(
        f"\nimport app in python3.12 from the bundle: {float(took) * 1000:.0f} ms, "
        f"{float(first_client) * 1000:.0f} ms to a first boto3 client"
    )


def test_packaged_template_translates_and_lints_without_errors(sam: dict[str, Any]) -> None:
    import boto3
    from cfnlint.api import ManualArgs, lint
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = json.loads(json.dumps(sam))
    point_code_at(template, "nailfolio-deploy-123456789012-us-east-1", "prod/abc.zip")
    session = boto3.session.Session(region_name=REGION)
    translated = Translator({}, Parser(), boto_session=session).translate(
        template, parameter_values={}, get_managed_policy_map=dict
    )
    assert "Transform" not in translated
    assert resources(translated, "AWS::Lambda::Function")
    matches = lint(json.dumps(translated), config=ManualArgs(regions=[REGION]))
    errors = [f"{m.rule.id} {m.message} {m.path}" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
    unexpected = [
        f"{m.rule.id} {m.message}"
        for m in matches
        if not m.rule.id.startswith("E")
        and not any(
            m.rule.id == rule and where in str(m.path) for rule, where in ACCEPTED_WARNINGS.items()
        )
    ]
    assert unexpected == []


def test_buckets_are_private_encrypted_and_tls_only(sam: dict[str, Any]) -> None:
    buckets = resources(sam, "AWS::S3::Bucket")
    assert set(buckets) == {"ContentBucket", "AssetsBucket", "SiteBucket"}
    for bucket in buckets.values():
        properties = bucket["Properties"]
        assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
        assert len(properties["PublicAccessBlockConfiguration"]) == 4
        (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    content = props(sam, "ContentBucket")
    assert content["NotificationConfiguration"]["EventBridgeConfiguration"] == {
        "EventBridgeEnabled": True
    }
    assert content["VersioningConfiguration"] == {"Status": "Enabled"}
    assert content["CorsConfiguration"] == {  # the studio's presigned POSTs, from the site
        "CorsRules": [
            {
                "AllowedMethods": ["POST"],
                "AllowedOrigins": stack_template.STUDIO_ORIGINS,
                "AllowedHeaders": ["*"],
                "MaxAge": 3600,
            }
        ]
    }
    assert stack_template.STUDIO_ORIGINS["Fn::If"][1:] == [
        [{"Fn::Sub": "https://${DomainName}"}],
        ["https://*.cloudfront.net"],
    ]
    for bucket in ("AssetsBucket", "SiteBucket"):
        assert "CorsConfiguration" not in props(sam, bucket)
    policies = resources(sam, "AWS::S3::BucketPolicy")
    assert {p["Properties"]["Bucket"]["Ref"] for p in policies.values()} == set(buckets)
    for policy in policies.values():
        denies = [
            s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
        ]
        tls_only = [
            d for d in denies if d.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert len(tls_only) == 1 and tls_only[0]["Action"] == "s3:*"


def test_cloudfront_serves_the_private_bucket_over_https_with_security_headers(
    sam: dict[str, Any],
) -> None:
    distribution = props(sam, "SiteDistribution")["DistributionConfig"]
    site, api_origin = distribution["Origins"]
    assert site["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert site["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert api_origin["OriginPath"] == "/api"  # the API Gateway stage of .chalice/config.json
    assert api_origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    default = distribution["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https" and default["Compress"]
    (function,) = default["FunctionAssociations"]
    assert function["EventType"] == "viewer-request"
    code = props(sam, "DirectoryIndexFunction")["FunctionCode"]
    assert "index.html" in code
    with_domain = distribution["ViewerCertificate"]["Fn::If"][1]
    assert with_domain["MinimumProtocolVersion"] == "TLSv1.2_2021"
    # Error responses apply to every origin: only 404 (S3's missing key, as it may list the
    # bucket) becomes the site's page, never the API's 403s, and briefly cached.
    errors = {e["ErrorCode"]: e for e in distribution["CustomErrorResponses"]}
    assert set(errors) == {404} and errors[404]["ResponsePagePath"] == "/404.html"
    assert errors[404]["ErrorCachingMinTTL"] <= 10
    statements = {
        s["Sid"]: s for s in props(sam, "SiteBucketPolicy")["PolicyDocument"]["Statement"]
    }
    assert statements["CloudFrontTellsMissingKeys"]["Action"] == "s3:ListBucket"
    record = statements["PublishRecordIsPrivate"]
    assert record["Effect"] == "Deny" and record["Action"] == "s3:GetObject"
    assert record["Resource"] == {"Fn::Sub": "${SiteBucket.Arn}/.nailfolio/*"}
    assert api_origin["OriginCustomHeaders"] == [
        {"HeaderName": api.ORIGIN_HEADER, "HeaderValue": stack_template.ORIGIN_SECRET}
    ]
    api_env = props(sam, "APIHandler")["Environment"]["Variables"]
    assert api_env[stack_template.variable("origin_secret")] == stack_template.ORIGIN_SECRET
    assert (ROOT / "theme" / "templates" / "404.html").is_file()
    headers = props(sam, "SiteHeadersPolicy")["ResponseHeadersPolicyConfig"]
    security = headers["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["ContentSecurityPolicy"]["ContentSecurityPolicy"] == csp.csp_header("/designs/")
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    admin = props(sam, "AdminHeadersPolicy")["ResponseHeadersPolicyConfig"]
    assert admin["SecurityHeadersConfig"]["ContentSecurityPolicy"][
        "ContentSecurityPolicy"
    ] == csp.csp_header("/admin/")
    studio = props(sam, "StudioHeadersPolicy")["ResponseHeadersPolicyConfig"]
    studio_csp = studio["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    origin = "https://${ContentBucket.RegionalDomainName}"
    assert studio_csp == {"Fn::Sub": csp.csp_header("/studio/", origin)}
    assert f"connect-src 'self' {origin};" in studio_csp["Fn::Sub"]
    behaviours = {b["PathPattern"]: b for b in distribution["CacheBehaviors"]}
    assert behaviours["/studio*"]["ResponseHeadersPolicyId"] == {"Ref": "StudioHeadersPolicy"}
    assert behaviours["/studio*"]["AllowedMethods"] == ["GET", "HEAD"]


def test_the_moderation_page_has_its_own_csp_and_the_api_may_preview_content(
    sam: dict[str, Any],
) -> None:
    """Its previews are presigned content-bucket URLs: /admin/moderation* carries
    MODERATION_CSP (before /admin*, which keeps ADMIN_CSP), and the API's role may list and
    read designs/ in the content bucket (to sign those URLs); its one write there, the
    designers' uploads, is checked in test_each_role_grants_named_resources_only; never a
    delete."""
    behaviours = props(sam, "SiteDistribution")["DistributionConfig"]["CacheBehaviors"]
    patterns = [b["PathPattern"] for b in behaviours]
    assert patterns.index("/admin/moderation*") < patterns.index("/admin*")
    (moderation,) = (b for b in behaviours if b["PathPattern"] == "/admin/moderation*")
    assert moderation["ResponseHeadersPolicyId"] == {"Ref": "ModerationHeadersPolicy"}
    policy = props(sam, "ModerationHeadersPolicy")["ResponseHeadersPolicyConfig"]
    found = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert found == csp.csp_header("/admin/moderation/")
    role = json.dumps(resources(sam, "AWS::IAM::Role")["ApiHandlerRole"])
    assert '"s3:GetObject"' in role and "${ContentBucket.Arn}/designs/*" in role
    assert "s3:DeleteObject" not in role and role.count('"s3:PutObject"') == 1


def test_api_behaviour_is_uncached_and_forwards_the_cookies_the_api_sets(
    sam: dict[str, Any],
) -> None:
    behaviours = props(sam, "SiteDistribution")["DistributionConfig"]["CacheBehaviors"]
    (to_api,) = (b for b in behaviours if b["PathPattern"] == "/api/*")
    assert to_api["TargetOriginId"] == "api"
    assert to_api["CachePolicyId"] == CACHING_DISABLED
    assert "POST" in to_api["AllowedMethods"] and "DELETE" in to_api["AllowedMethods"]
    assert to_api["ViewerProtocolPolicy"] == "https-only"
    request = props(sam, "ApiOriginRequestPolicy")["OriginRequestPolicyConfig"]
    assert set(request["CookiesConfig"]["Cookies"]) == {api.SESSION_COOKIE, api.REFRESH_COOKIE}
    assert "Idempotency-Key" in request["HeadersConfig"]["Headers"]
    assert "CloudFront-Viewer-Address" in request["HeadersConfig"]["Headers"]
    assert "Host" not in request["HeadersConfig"]["Headers"]


def test_tables_are_the_library_tables_on_demand_encrypted_and_recoverable(
    sam: dict[str, Any],
) -> None:
    expected = {
        "CatalogTable": (dynamodb.catalog_table("x"), None),
        "CommentsTable": (table_definition("x"), None),
        "RateLimitTable": (dynamodb.rate_limit_table("x"), dynamodb.TTL_ATTRIBUTE),
        "RevocationTable": (dynamodb.revocation_table("x"), dynamodb.TTL_ATTRIBUTE),
    }
    assert set(resources(sam, "AWS::DynamoDB::Table")) == set(expected)
    for logical_id, (definition, ttl) in expected.items():
        table = props(sam, logical_id)
        for key in ("KeySchema", "AttributeDefinitions", "BillingMode"):
            assert table[key] == definition[key], (logical_id, key)
        assert table.get("GlobalSecondaryIndexes") == definition.get("GlobalSecondaryIndexes")
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSESpecification"] == {"SSEEnabled": True}
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        found_ttl = table.get("TimeToLiveSpecification")
        assert found_ttl == ({"Enabled": True, "AttributeName": ttl} if ttl else None)


def test_user_pool_is_the_library_pool_with_its_client_and_role_groups(
    sam: dict[str, Any],
) -> None:
    pool = props(sam, "UserPool")
    assert pool["UsernameAttributes"] == cognito_pool.user_pool("x")["UsernameAttributes"]
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert "Policies" not in pool  # Cognito's default password policy
    client = props(sam, "UserPoolClient")
    library = cognito_pool.app_client("x")
    assert {k: client[k] for k in library if k != "UserPoolId"} == {
        k: v for k, v in library.items() if k != "UserPoolId"
    }
    groups = resources(sam, "AWS::Cognito::UserPoolGroup")
    assert sorted(g["Properties"]["GroupName"] for g in groups.values()) == sorted(ROLES)


def test_rebuild_reads_the_stack_queue_alone_and_dead_letters_alarm(sam: dict[str, Any]) -> None:
    rebuild = props(sam, "Rebuild")
    assert rebuild["ReservedConcurrentExecutions"] == 1
    (source,) = rebuild["Events"].values()
    assert source["Type"] == "SQS"
    assert source["Properties"]["Queue"] == {"Fn::GetAtt": ["RebuildQueue", "Arn"]}
    assert source["Properties"]["MaximumBatchingWindowInSeconds"] > 0
    queue = props(sam, "RebuildQueue")
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3
    assert queue["VisibilityTimeout"] >= rebuild["Timeout"]
    alarm = props(sam, "RebuildDeadLetterAlarm")
    assert alarm["AlarmActions"] == [{"Ref": "AdminTopic"}]
    assert alarm["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": ["RebuildDeadLetterQueue", "QueueName"]
    }
    subscription = props(sam, "AdminSubscription")
    assert subscription["Protocol"] == "email"
    assert subscription["Endpoint"] == {"Ref": "AdminEmail"}


def test_moderate_rule_matches_the_content_bucket_only(sam: dict[str, Any]) -> None:
    (event,) = props(sam, "Moderate")["Events"].values()
    pattern = event["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail"] == {"bucket": {"name": [{"Ref": "ContentBucket"}]}}


def test_each_role_grants_named_resources_only(sam: dict[str, Any]) -> None:
    unscoped_ok = ("rekognition:", "comprehend:")  # they have no resource-level permissions
    roles = resources(sam, "AWS::IAM::Role")
    assert len(roles) == len(stack_template.FUNCTIONS)
    for logical_id, role in roles.items():
        (policy,) = role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            assert all("*" not in action for action in actions), (logical_id, actions)
            if statement["Resource"] == "*":
                assert all(a.startswith(unscoped_ok) for a in actions), (logical_id, actions)
    api_actions = json.dumps(roles["ApiHandlerRole"])
    assert "cloudfront:" not in api_actions
    # The API's one S3 write: designers' files (and the presigned POSTs it signs for them)
    # in the content bucket's designs/, never the site or the renditions.
    (api_policy,) = roles["ApiHandlerRole"]["Properties"]["Policies"]
    writes = [s for s in api_policy["PolicyDocument"]["Statement"] if "s3:PutObject" in s["Action"]]
    assert [w["Resource"] for w in writes] == [{"Fn::Sub": "${ContentBucket.Arn}/designs/*"}]
    assert "cloudfront:CreateInvalidation" in json.dumps(roles["RebuildRole"])


def test_every_resource_setting_reaches_the_lambdas(sam: dict[str, Any]) -> None:
    needed = {
        name
        for name, setting in config.AWS_SETTINGS.items()
        if not setting.default
        and name not in ("region", "endpoint_url", "cognito_issuer", "cognito_jwks_url")
    }
    wired = set(stack_template.LAMBDA_ENVIRONMENT)
    assert needed <= wired
    assert wired <= set(config.AWS_SETTINGS)
    api_env = props(sam, "APIHandler")["Environment"]["Variables"]
    assert api_env["NAILFOLIO_BACKEND"] == "aws"
    assert "SiteDistribution" not in json.dumps(api_env)  # CloudFront depends on the API
    rebuild_env = props(sam, "Rebuild")["Environment"]["Variables"]
    assert rebuild_env[stack_template.variable("site_bucket")] == {"Ref": "SiteBucket"}
    assert rebuild_env[stack_template.variable("cloudfront_distribution")] == {
        "Ref": "SiteDistribution"
    }
    # The bundle is read-only: the rebuild must make its root in /tmp (config.lambda_settings),
    # which a NAILFOLIO_ROOT pointing into /var/task would override.
    assert "NAILFOLIO_ROOT" not in rebuild_env


def test_every_function_gets_the_owners_tuning(sam: dict[str, Any]) -> None:
    """A deployed rebuild renders the widths, and moderates at the thresholds, that deploy
    ran with: Chalice's packaging keeps them beside the stack's own variables."""
    functions = resources(sam, "AWS::Serverless::Function")
    assert set(functions) >= set(stack_template.FUNCTIONS.values())
    for logical_id, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables.items() >= TUNING.items(), logical_id
        assert variables["NAILFOLIO_BACKEND"] == "aws"


def test_wheels_come_from_the_cache_the_second_time(
    tmp_path: Path, packaged: bundle.Bundle
) -> None:
    vendor = ROOT / "chalice_app" / "vendor"
    start = time.perf_counter()
    installed = bundle.install_wheels(
        ROOT / "chalice_app" / "requirements.txt",
        vendor,
        bundle.default_wheel_cache(),
        ROOT / "constraints.txt",
    )
    assert installed is False and time.perf_counter() - start < 2


@pytest.fixture
def no_chalice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(bundle.shutil, "which", lambda *a, **k: "/nonexistent/chalice")
    yield


def test_missing_chalice_says_what_to_install(tmp_path: Path, no_chalice: None) -> None:
    (tmp_path / "app").mkdir()
    with pytest.raises(bundle.DeployError, match="pip install"):
        bundle.chalice_package(tmp_path / "app", STAGE, tmp_path / "m.json", tmp_path / "o", REGION)


def test_the_packaged_stack_goes_through_a_dry_run_change_set(
    packaged: bundle.Bundle, sam: dict[str, Any]
) -> None:
    import boto3
    from moto import mock_aws

    from nailfolio.aws import cloudformation

    bucket = cloudformation.deployment_bucket_name("123456789012", REGION)
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        cloudformation.ensure_bucket(s3, bucket, REGION)
        template = json.loads(json.dumps(sam))
        url = cloudformation.package(s3, bucket, STAGE, packaged.zip_path, template)
        parameters = cloudformation.stack_parameters(
            STAGE, "admin@example.com", None, None, exists=False
        )
        change_set = cloudformation.create_change_set(
            cfn, "nailfolio-prod", url, parameters, sleep=lambda _: None
        )
        assert change_set is not None and change_set.kind == "CREATE"
        assert {c.logical_id for c in change_set.changes} == set(sam["Resources"])
        cloudformation.delete_change_set(cfn, "nailfolio-prod", change_set.name)
        assert cloudformation.stack_status(cfn, "nailfolio-prod") is None


def test_the_comment_digest_runs_every_5_minutes_and_may_only_read_comments_and_notify(
    sam: dict[str, Any],
) -> None:
    from nailfolio.comments.digest import CHECK_MINUTES

    digest = props(sam, "CommentDigest")
    (event,) = digest["Events"].values()
    assert (event["Type"], event["Properties"]["Schedule"]) == (
        "Schedule",
        f"rate({CHECK_MINUTES} minutes)",
    )
    variables = digest["Environment"]["Variables"]
    assert variables["NAILFOLIO_SITE_URL"] == stack_template.SITE_URL  # the digest's link
    assert variables["NAILFOLIO_TOPIC_ARN"] == {"Ref": "AdminTopic"}
    (policy,) = props(sam, "CommentDigestRole")["Policies"]
    granted = {
        action: json.dumps(statement["Resource"])
        for statement in policy["PolicyDocument"]["Statement"]
        for action in statement["Action"]
    }
    assert set(granted) == {
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
        "dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "sns:Publish",
    }  # fmt: skip
    assert "CommentsTable" in granted["dynamodb:PutItem"]
    assert granted["sns:Publish"] == json.dumps({"Ref": "AdminTopic"})
