"""What template.yaml grants and bounds on AWS, read from the template (nothing deployed, nothing run).

IAM, queue policies, event-source concurrency and lifecycle rules are not played by the local stack
(moto enforces none of them), so these are checked where they are written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from infrastructure.local.template import SERVERLESS_FUNCTION, Template, load_template
from stocksync.catalogue.ingest_messages import CATALOGUE_PREFIX
from stocksync.catalogue.load import STAGING_PREFIX
from stocksync.pim.runs import MEDIA_PREFIX

BUCKET = "CatalogueBucket"
# SAM policy templates that grant a whole bucket (every object, and for Crud/FullAccess deletes and ACLs).
BUCKET_WIDE_TEMPLATES = ("S3CrudPolicy", "S3FullAccessPolicy", "S3WritePolicy", "S3ReadPolicy")
# No function changes the bucket's settings or ACLs, nor deletes a version for good (what versioning keeps).
NEVER_GRANTED = {"s3:PutObjectAcl", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:PutBucketVersioning",
                 "s3:DeleteObjectVersion", "s3:DeleteBucket"}
_OBJECT_RESOURCE = re.compile(r"^\$\{CatalogueBucket\.Arn\}/(?P<prefix>[a-z0-9][a-z0-9-]*/)\*$")

SP_API_PRINCIPAL = "arn:aws:iam::437568002678:root"


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _function_ids(template: Template) -> list[str]:
    return [logical_id for logical_id, resource in template.resources.items()
            if resource.get("Type") == SERVERLESS_FUNCTION]


def _statements(template: Template, function_id: str) -> Iterator[Mapping[str, Any]]:
    for policy in _as_list(template.properties(function_id).get("Policies") or []):
        if isinstance(policy, Mapping) and "Statement" in policy:
            yield from _as_list(policy["Statement"])


def _s3_actions(statement: Mapping[str, Any]) -> set[str]:
    return {action for action in _as_list(statement.get("Action") or []) if action == "*" or action.startswith("s3:")}


def _object_grants(template: Template, function_id: str) -> dict[str, set[str]]:
    """Object prefix -> the S3 actions the function holds on it (bucket-level statements left out)."""
    grants: dict[str, set[str]] = {}
    for statement in _statements(template, function_id):
        actions = _s3_actions(statement)
        for resource in _as_list(statement.get("Resource") or []):
            if actions and isinstance(resource, Mapping) and "Fn::Sub" in resource:
                match = _OBJECT_RESOURCE.match(str(resource["Fn::Sub"]))
                if match:
                    grants.setdefault(match["prefix"], set()).update(actions)
    return grants


def test_given_any_function_when_its_policies_are_read_then_no_policy_template_grants_the_whole_bucket(
    template: Template,
) -> None:
    wide = {
        function_id: name
        for function_id in _function_ids(template)
        for policy in _as_list(template.properties(function_id).get("Policies") or [])
        # a policy template by name, or a managed policy (AmazonS3FullAccess, ...) by name or ARN
        for name in (policy if isinstance(policy, Mapping) else [str(policy)])
        if name in BUCKET_WIDE_TEMPLATES or (not isinstance(policy, Mapping) and "S3" in name)
    }

    assert wide == {}, "grant the prefixes and actions a function uses, not the bucket"


def test_given_any_function_when_its_s3_statements_are_read_then_objects_are_granted_by_prefix_only(
    template: Template,
) -> None:
    problems = []
    for function_id in _function_ids(template):
        for statement in _statements(template, function_id):
            actions = _s3_actions(statement)
            if not actions:
                continue
            if any(action == "*" or action.endswith("*") for action in actions):
                problems.append(f"{function_id} {statement.get('Sid')}: wildcard action {sorted(actions)}")
            if actions & NEVER_GRANTED:
                problems.append(f"{function_id} {statement.get('Sid')}: {sorted(actions & NEVER_GRANTED)}")
            for resource in _as_list(statement.get("Resource") or []):
                if resource == {"Fn::GetAtt": [BUCKET, "Arn"]}:  # the bucket itself: listing only, by prefix
                    prefixes = (statement.get("Condition") or {}).get("StringLike", {}).get("s3:prefix")
                    if actions != {"s3:ListBucket"} or not prefixes:
                        problems.append(f"{function_id} {statement.get('Sid')}: {sorted(actions)} on the bucket")
                elif not (isinstance(resource, Mapping) and _OBJECT_RESOURCE.match(str(resource.get("Fn::Sub")))):
                    problems.append(f"{function_id} {statement.get('Sid')}: {resource} is not one prefix's objects")

    assert problems == []


def test_given_the_functions_using_the_bucket_when_read_then_each_holds_exactly_what_its_code_does(
    template: Template,
) -> None:
    granted = {function_id: _object_grants(template, function_id) for function_id in _function_ids(template)}

    assert granted == {
        # Presigned upload URLs; large mapping exports (multipart, presigned download); staged imports.
        "ApiFunction": {
            CATALOGUE_PREFIX: {"s3:PutObject"},
            "exports/": {"s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"},
            "imports/": {"s3:PutObject"},
        },
        # Reads the imports the API staged; copies PIM images in.
        "JobsWorkerFunction": {
            "imports/": {"s3:GetObject"},
            MEDIA_PREFIX: {"s3:PutObject", "s3:AbortMultipartUpload"},
        },
        # Writes downloaded channel reports (multipart).
        "ReportPollerFunction": {
            CATALOGUE_PREFIX: {"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
        },
        # Reads the catalogue file; writes, reads and deletes its load's staged runs.
        "CatalogueIngestFunction": {
            CATALOGUE_PREFIX: {"s3:GetObject"},
            STAGING_PREFIX: {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"},
        },
        "AutoMapperFunction": {},
        "PimSyncFunction": {},
        "StockSubmitterFunction": {},
        "OrderPollerFunction": {},
        "OrderNotificationsFunction": {},
    }


def test_given_the_catalogue_bucket_when_read_then_versioned_and_noncurrent_versions_expire(
    template: Template,
) -> None:
    bucket = template.properties(BUCKET)
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}

    assert bucket.get("VersioningConfiguration") == {"Status": "Enabled"}
    # Bucket-wide (no prefix): every overwritten or deleted version goes, wherever it was.
    noncurrent = [rule for rule in rules.values() if "NoncurrentVersionExpiration" in rule and not rule.get("Prefix")]
    assert [rule["NoncurrentVersionExpiration"]["NoncurrentDays"] for rule in noncurrent] == [30]
    assert noncurrent[0]["Status"] == "Enabled"
    assert noncurrent[0].get("ExpiredObjectDeleteMarker") is True
    # The rules there were before versioning are all still there.
    assert {"abort-incomplete-uploads", "staging", "exports", "imports", "old-catalogues"} <= rules.keys()
    assert rules["old-catalogues"]["Prefix"] == CATALOGUE_PREFIX
    assert rules["old-catalogues"]["ExpirationInDays"] == 30
    assert rules["staging"]["Prefix"] == STAGING_PREFIX
    assert rules["staging"]["ExpirationInDays"] == 3


def test_given_every_sqs_event_source_when_read_then_its_concurrency_is_bounded(template: Template) -> None:
    limits = {
        (function_id, name): (event.get("Properties") or {}).get("ScalingConfig", {}).get("MaximumConcurrency")
        for function_id in _function_ids(template)
        for name, event in (template.properties(function_id).get("Events") or {}).items()
        if event["Type"] == "SQS"
    }

    assert limits, "the template has SQS event sources"
    unbounded = {source: limit for source, limit in limits.items()
                 if not isinstance(limit, int) or not 2 <= limit <= 1000}
    assert unbounded == {}, "MaximumConcurrency is required, and SQS allows 2 to 1000"
    # The stock queue's bound is the least allowed: its invocations share every channel's rate budget.
    assert limits[("StockSubmitterFunction", "Stock")] == 2


def test_given_the_amazon_notification_queue_when_its_policy_is_read_then_amazon_may_only_deliver_to_it(
    template: Template,
) -> None:
    policy = template.properties("OrderNotificationQueuePolicy")
    (statement,) = policy["PolicyDocument"]["Statement"]

    assert policy["Queues"] == [{"Ref": "OrderNotificationQueue"}]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": SP_API_PRINCIPAL}
    assert sorted(statement["Action"]) == ["sqs:GetQueueAttributes", "sqs:SendMessage"]
    assert statement["Resource"] == {"Fn::GetAtt": ["OrderNotificationQueue", "Arn"]}
    # Amazon documents no source condition for SP-API's deliveries: one it does not send stops them all.
    assert "Condition" not in statement
    # SQS-managed encryption: a KMS key would need a key policy letting Amazon's account use it.
    queue = template.properties("OrderNotificationQueue")
    assert queue.get("SqsManagedSseEnabled") is True and "KmsMasterKeyId" not in queue


def test_given_any_queue_policy_when_read_then_no_one_is_granted_every_action_or_every_principal(
    template: Template,
) -> None:
    problems = []
    for logical_id, resource in template.resources.items():
        if resource.get("Type") != "AWS::SQS::QueuePolicy":
            continue
        for statement in _as_list(resource["Properties"]["PolicyDocument"]["Statement"]):
            if statement["Effect"] != "Allow":
                continue
            actions = _as_list(statement["Action"])
            if any(action in ("*", "sqs:*") for action in actions):
                problems.append(f"{logical_id}: {actions}")
            if statement.get("Principal") in ("*", {"AWS": "*"}) and not statement.get("Condition"):
                problems.append(f"{logical_id}: anyone, unconditionally")

    assert problems == []


# --------------------------------------------------------------------------- sign-in and the console

CONSOLE_BUCKET = "ConsoleBucket"
DISTRIBUTION = "ConsoleDistribution"
PEOPLES_SCOPE = "aws.cognito.signin.user.admin"
MACHINES_SCOPE = "stocksync-api/full"


def _api_events(template: Template) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    for function_id in _function_ids(template):
        for name, event in (template.properties(function_id).get("Events") or {}).items():
            if event.get("Type") == "Api":
                yield function_id, name, event["Properties"]


def test_given_the_api_when_read_then_the_user_pool_authorizes_every_route_for_people_and_machines(
        template: Template) -> None:
    auth = template.properties("StockSyncApi")["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]

    assert authorizer["UserPoolArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    assert set(authorizer["AuthorizationScopes"]) == {PEOPLES_SCOPE, MACHINES_SCOPE}
    events = list(_api_events(template))
    assert events, "the API has routes"
    for function_id, name, properties in events:
        assert properties["RestApiId"] == {"Ref": "StockSyncApi"}, (function_id, name)
        assert "Auth" not in properties, f"{function_id} {name} overrides the default authorizer"


def test_given_the_user_pool_when_read_then_only_admins_create_people_and_the_console_client_has_no_secret(
        template: Template) -> None:
    pool = template.resources["UserPool"]
    console = template.properties("ConsoleClient")
    machines = template.properties("MachineClient")

    assert pool["DeletionPolicy"] == pool["UpdateReplacePolicy"] == "Retain"
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Properties"]["UsernameAttributes"] == ["email"]
    password = pool["Properties"]["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 12
    assert all(password[key] for key in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))
    assert console["GenerateSecret"] is False
    assert set(console["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert console["PreventUserExistenceErrors"] == "ENABLED"
    assert machines["GenerateSecret"] is True
    assert machines["AllowedOAuthFlows"] == ["client_credentials"]
    assert machines["AllowedOAuthScopes"] == [MACHINES_SCOPE]


def test_given_the_console_bucket_when_read_then_private_encrypted_and_kept(template: Template) -> None:
    bucket = template.resources[CONSOLE_BUCKET]
    properties = bucket["Properties"]

    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_given_the_console_bucket_policy_when_read_then_only_the_distribution_reads_by_its_source_arn(
        template: Template) -> None:
    (policy_id,) = [logical_id for logical_id, resource in template.resources.items()
                    if resource.get("Type") == "AWS::S3::BucketPolicy"
                    and resource["Properties"]["Bucket"] == {"Ref": CONSOLE_BUCKET}]
    statements = template.properties(policy_id)["PolicyDocument"]["Statement"]

    allows = [statement for statement in statements if statement["Effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    source_arn = allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source_arn.endswith(":distribution/${ConsoleDistribution}")
    assert any(statement["Effect"] == "Deny" and "aws:SecureTransport" in statement["Condition"]["Bool"]
               for statement in statements)


def test_given_the_distribution_when_read_then_the_bucket_is_reached_through_origin_access_control_over_https(
        template: Template) -> None:
    config = template.properties(DISTRIBUTION)["DistributionConfig"]
    origins = {origin["Id"]: origin for origin in config["Origins"]}
    default = config["DefaultCacheBehavior"]

    bucket_origin = origins[default["TargetOriginId"]]
    assert bucket_origin["DomainName"] == {"Fn::GetAtt": [CONSOLE_BUCKET, "RegionalDomainName"]}
    assert bucket_origin["OriginAccessControlId"] == {"Fn::GetAtt": ["ConsoleOriginAccessControl", "Id"]}
    oac = template.properties("ConsoleOriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")
    assert config["DefaultRootObject"] == "index.html"
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert all(behavior["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")
               for behavior in config["CacheBehaviors"])


def test_given_the_distribution_when_read_then_v1_goes_uncached_to_the_api_with_every_method(
        template: Template) -> None:
    config = template.properties(DISTRIBUTION)["DistributionConfig"]
    origins = {origin["Id"]: origin for origin in config["Origins"]}

    (api,) = [behavior for behavior in config["CacheBehaviors"] if behavior["PathPattern"] == "/v1/*"]
    assert origins[api["TargetOriginId"]]["DomainName"]["Fn::Sub"].startswith("${StockSyncApi}.execute-api.")
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert api["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    assert set(api["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}


def test_given_the_distribution_when_read_then_console_routes_fall_back_to_index_without_hiding_api_errors(
        template: Template) -> None:
    config = template.properties(DISTRIBUTION)["DistributionConfig"]

    assert "CustomErrorResponses" not in config  # distribution-wide: it would answer the API's 403/404 with a page
    (association,) = config["DefaultCacheBehavior"]["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    assert "index.html" in template.properties("ConsoleRoutesFunction")["FunctionCode"]
    assert all("FunctionAssociations" not in behavior for behavior in config["CacheBehaviors"])


def test_given_the_console_headers_when_read_then_hsts_nosniff_deny_framing_and_a_self_only_csp(
        template: Template) -> None:
    headers = template.properties("ConsoleSecurityHeaders")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]

    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ReferrerPolicy"]["ReferrerPolicy"]
    csp = dict(directive.strip().split(" ", 1)
               for directive in headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"].split(";"))
    assert csp["default-src"] == "'self'"
    bucket = "${AWS::StackName}-catalogues-${AWS::AccountId}-${AWS::Region}"
    assert csp["connect-src"].split() == ["'self'", "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}",
                                          f"https://{bucket}.s3.${{AWS::URLSuffix}}",
                                          f"https://{bucket}.s3.${{AWS::Region}}.${{AWS::URLSuffix}}"]
    assert template.properties("CatalogueBucket")["BucketName"] == {"Fn::Sub": bucket}
    (cors,) = template.properties("CatalogueBucket")["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedMethods"] == ["PUT"] and cors["AllowedHeaders"] == ["Content-Type"]
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe" not in " ".join(csp.values())
    config = template.properties(DISTRIBUTION)["DistributionConfig"]
    for behavior in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": "ConsoleSecurityHeaders"}


def test_given_the_outputs_when_read_then_deploy_finds_the_console_and_the_sign_in_settings(template: Template) -> None:
    assert {"ConsoleUrl", "ConsoleBucketName", "ConsoleDistributionId", "UserPoolId", "ConsoleClientId",
            "MachineClientId", "TokenEndpoint"} <= set(template.outputs)
