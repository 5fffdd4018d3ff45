"""Create template.yaml's resources on the embedded AWS, in dependency order.

This is CloudFormation's part, done with plain boto3 calls against moto (clients honour
AWS_ENDPOINT_URL). Every resource type AWS would hold is created with the properties that change
local behaviour; a resource type or property this module does not know is an error, never a
silent skip, so the local stack cannot quietly drift from the template. Functions, APIs and
layers are not created: the runner plays them in-process.

It expects an empty embedded AWS (a fresh moto, or one just reset).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any

import boto3

from infrastructure.local.template import (
    ACCOUNT_ID,
    SERVERLESS_FUNCTION,
    STACK_NAME,
    PhysicalResource,
    Resolver,
    Template,
    TemplateError,
    current_region,
    to_environment_value,
)


class EnvironmentConflictError(TemplateError):
    """Two functions give one environment variable different values (they share one process locally)."""


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class ProvisionedStack:
    """The physical resources of a provisioned template, and what the functions see of them."""

    template: Template
    region: str
    resources: Mapping[str, PhysicalResource]

    @cached_property
    def resolver(self) -> Resolver:
        return Resolver(self.template, self.resources, self.region)

    def resolve(self, value: Any) -> Any:
        return self.resolver.resolve(value)

    def ref(self, logical_id: str) -> str:
        return self._physical(logical_id).ref

    def attribute(self, logical_id: str, name: str) -> str:
        return self._physical(logical_id).attributes[name]

    def function_name(self, logical_id: str) -> str:
        return self.ref(logical_id)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """The function's environment as Lambda would set it: Globals + own variables, as strings."""
        variables = self.resolve(self.template.function(logical_id).environment) or {}
        return {name: to_environment_value(value) for name, value in variables.items()}

    @cached_property
    def environment(self) -> Mapping[str, str]:
        """Every function's environment in one: locally all handlers share one process."""
        union: dict[str, str] = {}
        for function in self.template.functions():
            for name, value in self.function_environment(function.logical_id).items():
                if union.setdefault(name, value) != value:
                    raise EnvironmentConflictError(
                        f"{function.logical_id} sets {name}={value!r} but another function sets "
                        f"{name}={union[name]!r}; handlers share one process locally"
                    )
        return MappingProxyType(union)

    def queue_url(self, queue_arn: str) -> str:
        """The URL of a provisioned queue, from its ARN (how event sources name queues)."""
        for resource in self.resources.values():
            if resource.attributes.get("Arn") == queue_arn and resource.resource_type == _QUEUE:
                return resource.ref
        raise TemplateError(f"no provisioned queue has the ARN {queue_arn}")

    def _physical(self, logical_id: str) -> PhysicalResource:
        try:
            return self.resources[logical_id]
        except KeyError:
            raise TemplateError(f"{logical_id} was not provisioned") from None


def provision(template: Template, region: str | None = None) -> ProvisionedStack:
    """Create every resource of `template` on the embedded AWS, dependencies first."""
    region = region or current_region()
    return _created(template, region, {}, lambda _resource_type: True)


def reprovision(stack: ProvisionedStack, resource_types: Collection[str]) -> ProvisionedStack:
    """Create the stack's resources of these types again, on an embedded AWS whose services holding them
    were reset; every other resource is kept as it is (references to it resolve as before). A test's
    fresh table, queues and buckets cost a tenth of a whole provisioning (alarms, log groups, the user
    pool and the key are most of it)."""
    kept = {logical_id: resource for logical_id, resource in stack.resources.items()
            if resource.resource_type not in resource_types}
    return _created(stack.template, stack.region, kept, lambda resource_type: resource_type in resource_types)


def _created(template: Template, region: str, resources: dict[str, PhysicalResource],
             wanted: Callable[[str], bool]) -> ProvisionedStack:
    context = _Context(region)
    for logical_id in template.creation_order():
        resolver = Resolver(template, resources, region)
        if not resolver.is_active(logical_id):
            continue
        resource_type = template.resource_type(logical_id)
        if not wanted(resource_type):
            continue
        create = _PROVISIONERS.get(resource_type)
        if create is None:
            raise TemplateError(
                f"{logical_id}: resource type {resource_type} is not supported by the local stack "
                "(add it to infrastructure/local/provision.py)"
            )
        properties = resolver.resolve(template.properties(logical_id)) or {}
        resources[logical_id] = create(context, logical_id, properties)
    return ProvisionedStack(template=template, region=region, resources=MappingProxyType(resources))


# --------------------------------------------------------------------------- shared helpers


class _Context:
    """Region and lazily created clients for one provisioning run."""

    def __init__(self, region: str) -> None:
        self.region = region
        self._clients: dict[str, Any] = {}

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    def client(self, service: str) -> Any:
        """The boto3 client of `service` in this run's region, made on first use."""
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.region)
        return self._clients[service]


def _physical_name(logical_id: str, max_length: int = 80, lowercase: bool = False) -> str:
    """A deterministic stand-in for CloudFormation's generated names (<stack>-<LogicalId>)."""
    name = f"{STACK_NAME}-{logical_id}"[:max_length]
    return name.lower() if lowercase else name


def _check_properties(logical_id: str, properties: Mapping[str, Any], supported: frozenset[str]) -> None:
    unknown = sorted(properties.keys() - supported)
    if unknown:
        raise TemplateError(
            f"{logical_id}: properties {', '.join(unknown)} are not supported by the local stack "
            "(add them to infrastructure/local/provision.py)"
        )


def _tags(properties: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"Key": str(tag["Key"]), "Value": str(tag["Value"])} for tag in properties.get("Tags") or []]


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        return json.dumps(value)
    return str(value)


# --------------------------------------------------------------------------- DynamoDB

_TABLE = "AWS::DynamoDB::Table"
_TABLE_PASSED_AS_IS = frozenset(
    {
        "AttributeDefinitions",
        "KeySchema",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
        "BillingMode",
        "ProvisionedThroughput",
        "TableClass",
        "DeletionProtectionEnabled",
    }
)
_TABLE_PROPERTIES = _TABLE_PASSED_AS_IS | {
    "TableName",
    "StreamSpecification",
    "SSESpecification",
    "TimeToLiveSpecification",
    "PointInTimeRecoverySpecification",
    "Tags",
}


def _create_table(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, _TABLE_PROPERTIES)
    name = str(properties.get("TableName") or _physical_name(logical_id, max_length=255))
    request: dict[str, Any] = {key: value for key, value in properties.items() if key in _TABLE_PASSED_AS_IS}
    if "StreamSpecification" in properties:
        request["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    if "SSESpecification" in properties:
        sse = dict(properties["SSESpecification"])
        request["SSESpecification"] = {"Enabled": sse.pop("SSEEnabled", False), **sse}
    if tags := _tags(properties):
        request["Tags"] = tags
    description = context.client("dynamodb").create_table(TableName=name, **request)["TableDescription"]
    if ttl := properties.get("TimeToLiveSpecification"):
        context.client("dynamodb").update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    if pitr := properties.get("PointInTimeRecoverySpecification"):
        context.client("dynamodb").update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=pitr)
    attributes = {"Arn": description["TableArn"]}
    if "LatestStreamArn" in description:
        attributes["StreamArn"] = description["LatestStreamArn"]
    return PhysicalResource(logical_id, _TABLE, ref=name, attributes=attributes)


# --------------------------------------------------------------------------- SQS

_QUEUE = "AWS::SQS::Queue"
_QUEUE_ATTRIBUTES = frozenset(
    {
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "DelaySeconds",
        "FifoQueue",
        "FifoThroughputLimit",
        "KmsDataKeyReusePeriodSeconds",
        "KmsMasterKeyId",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "RedriveAllowPolicy",
        "RedrivePolicy",
        "SqsManagedSseEnabled",
        "VisibilityTimeout",
    }
)


def _create_queue(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, _QUEUE_ATTRIBUTES | {"QueueName", "Tags"})
    fifo = properties.get("FifoQueue") is True
    name = str(properties.get("QueueName") or _physical_name(logical_id, 75) + (".fifo" if fifo else ""))
    attributes = {key: _attribute_text(value) for key, value in properties.items() if key in _QUEUE_ATTRIBUTES}
    tags = {tag["Key"]: tag["Value"] for tag in _tags(properties)}
    sqs = context.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=tags)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return PhysicalResource(logical_id, _QUEUE, ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url})


def _create_queue_policy(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, frozenset({"Queues", "PolicyDocument"}))
    policy = json.dumps(properties["PolicyDocument"])
    for url in properties["Queues"]:
        context.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    return PhysicalResource(logical_id, "AWS::SQS::QueuePolicy", ref=logical_id)


# --------------------------------------------------------------------------- S3

_BUCKET_PROPERTIES = frozenset(
    {
        "BucketName",
        "BucketEncryption",
        "PublicAccessBlockConfiguration",
        "OwnershipControls",
        "LifecycleConfiguration",
        "NotificationConfiguration",
        "VersioningConfiguration",
        "CorsConfiguration",
        "Tags",
    }
)
# CloudFormation's names of a CORS rule's fields -> S3's PutBucketCors names.
_CORS_FIELDS = {"AllowedHeaders": "AllowedHeaders", "AllowedMethods": "AllowedMethods",
                "AllowedOrigins": "AllowedOrigins", "ExposedHeaders": "ExposeHeaders", "Id": "ID",
                "MaxAge": "MaxAgeSeconds"}


def _create_bucket(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, _BUCKET_PROPERTIES)
    name = str(properties.get("BucketName") or _physical_name(logical_id, 63, lowercase=True))
    s3 = context.client("s3")
    if context.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": context.region})
    if encryption := properties.get("BucketEncryption"):
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=_bucket_encryption(encryption))
    if block := properties.get("PublicAccessBlockConfiguration"):
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    if ownership := properties.get("OwnershipControls"):
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=ownership)
    if versioning := properties.get("VersioningConfiguration"):
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
    if lifecycle := properties.get("LifecycleConfiguration"):
        rules = [_lifecycle_rule(logical_id, rule) for rule in lifecycle["Rules"]]
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    if tags := _tags(properties):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
    if cors := properties.get("CorsConfiguration"):
        rules = [{_CORS_FIELDS[field]: value for field, value in rule.items()} for rule in cors["CorsRules"]]
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    if notifications := properties.get("NotificationConfiguration"):
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration=_bucket_notifications(logical_id, notifications)
        )
    return PhysicalResource(
        logical_id,
        "AWS::S3::Bucket",
        ref=name,
        attributes={
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{context.region}.amazonaws.com",
        },
    )


def _bucket_encryption(encryption: Mapping[str, Any]) -> dict[str, Any]:
    rules = []
    for rule in encryption["ServerSideEncryptionConfiguration"]:
        api_rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
        if "BucketKeyEnabled" in rule:
            api_rule["BucketKeyEnabled"] = rule["BucketKeyEnabled"]
        rules.append(api_rule)
    return {"Rules": rules}


def _lifecycle_rule(logical_id: str, rule: Mapping[str, Any]) -> dict[str, Any]:
    _check_properties(
        f"{logical_id} lifecycle rule",
        rule,
        frozenset({
            "Id", "Status", "Prefix", "ExpirationInDays", "ExpiredObjectDeleteMarker", "AbortIncompleteMultipartUpload",
            "NoncurrentVersionExpiration",
        }),
    )
    api_rule: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "Id" in rule:
        api_rule["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        api_rule["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "ExpiredObjectDeleteMarker" in rule:  # S3 refuses it beside Days in one Expiration, as CloudFormation does
        api_rule.setdefault("Expiration", {})["ExpiredObjectDeleteMarker"] = rule["ExpiredObjectDeleteMarker"] is True
    if "AbortIncompleteMultipartUpload" in rule:
        api_rule["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    if noncurrent := rule.get("NoncurrentVersionExpiration"):
        _check_properties(f"{logical_id} NoncurrentVersionExpiration", noncurrent,
                          frozenset({"NoncurrentDays", "NewerNoncurrentVersions"}))
        api_rule["NoncurrentVersionExpiration"] = {key: int(value) for key, value in noncurrent.items()}
    return api_rule


def _bucket_notifications(logical_id: str, notifications: Mapping[str, Any]) -> dict[str, Any]:
    _check_properties(
        f"{logical_id} NotificationConfiguration",
        notifications,
        frozenset({"QueueConfigurations", "TopicConfigurations", "EventBridgeConfiguration"}),
    )
    configuration: dict[str, Any] = {}
    for cfn_key, target_key in (("QueueConfigurations", "Queue"), ("TopicConfigurations", "Topic")):
        targets = notifications.get(cfn_key) or []
        if targets:
            configuration[cfn_key] = [
                {
                    f"{target_key}Arn": target[target_key],
                    "Events": [target["Event"]],
                    **_notification_filter(target),
                }
                for target in targets
            ]
    if (notifications.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled"):
        configuration["EventBridgeConfiguration"] = {}
    return configuration


def _notification_filter(target: Mapping[str, Any]) -> dict[str, Any]:
    rules = ((target.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
    if not rules:
        return {}
    return {"Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}}


def _create_bucket_policy(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, frozenset({"Bucket", "PolicyDocument"}))
    policy = _local_bucket_policy(properties["PolicyDocument"])
    if policy["Statement"]:
        context.client("s3").put_bucket_policy(Bucket=properties["Bucket"], Policy=json.dumps(policy))
    return PhysicalResource(logical_id, "AWS::S3::BucketPolicy", ref=logical_id)


def _local_bucket_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The policy without its TLS-only Deny statements.

    The embedded AWS is plain HTTP on 127.0.0.1, and moto enforces a bucket's Deny statements
    without evaluating their conditions: a `aws:SecureTransport: false` Deny would refuse every
    object request. Everything else is kept.
    """
    statements = policy["Statement"]
    statements = [statements] if isinstance(statements, Mapping) else statements
    kept = [statement for statement in statements if not _denies_plain_http(statement)]
    return {**policy, "Statement": kept}


def _denies_plain_http(statement: Mapping[str, Any]) -> bool:
    conditions = statement.get("Condition") or {}
    return statement.get("Effect") == "Deny" and any(
        "aws:SecureTransport" in (operands or {}) for operands in conditions.values()
    )


# --------------------------------------------------------------------------- SNS, CloudWatch, Secrets

_TOPIC_ATTRIBUTES = frozenset({"DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication"})


def _create_topic(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, _TOPIC_ATTRIBUTES | {"TopicName", "Subscription", "Tags"})
    fifo = properties.get("FifoTopic") is True
    name = str(properties.get("TopicName") or _physical_name(logical_id, 251) + (".fifo" if fifo else ""))
    attributes = {key: _attribute_text(value) for key, value in properties.items() if key in _TOPIC_ATTRIBUTES}
    sns = context.client("sns")
    arn = sns.create_topic(Name=name, Attributes=attributes, Tags=_tags(properties))["TopicArn"]
    for subscription in properties.get("Subscription") or []:
        sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
    return PhysicalResource(logical_id, "AWS::SNS::Topic", ref=arn, attributes={"TopicArn": arn, "TopicName": name})


_ALARM_PASSED_AS_IS = frozenset(
    {
        "ActionsEnabled",
        "AlarmActions",
        "AlarmDescription",
        "ComparisonOperator",
        "DatapointsToAlarm",
        "Dimensions",
        "EvaluateLowSampleCountPercentile",
        "EvaluationPeriods",
        "ExtendedStatistic",
        "InsufficientDataActions",
        "MetricName",
        "Metrics",
        "Namespace",
        "OKActions",
        "Period",
        "Statistic",
        "Threshold",
        "ThresholdMetricId",
        "TreatMissingData",
        "Unit",
    }
)


def _create_alarm(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, _ALARM_PASSED_AS_IS | {"AlarmName"})
    name = str(properties.get("AlarmName") or _physical_name(logical_id, 255))
    request = {key: value for key, value in properties.items() if key in _ALARM_PASSED_AS_IS}
    context.client("cloudwatch").put_metric_alarm(AlarmName=name, **request)
    return PhysicalResource(
        logical_id,
        "AWS::CloudWatch::Alarm",
        ref=name,
        attributes={"Arn": context.arn("cloudwatch", f"alarm:{name}")},
    )


# GenerateSecretString keys that GetRandomPassword takes as they are.
_PASSWORD_OPTIONS = frozenset(
    {
        "ExcludeCharacters",
        "ExcludeLowercase",
        "ExcludeNumbers",
        "ExcludePunctuation",
        "ExcludeUppercase",
        "IncludeSpace",
        "PasswordLength",
        "RequireEachIncludedType",
    }
)


def _create_secret(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(
        logical_id,
        properties,
        frozenset({"Name", "Description", "SecretString", "GenerateSecretString", "KmsKeyId", "Tags"}),
    )
    name = str(properties.get("Name") or _physical_name(logical_id, 256))
    request: dict[str, Any] = {"Name": name, "SecretString": _secret_string(context, properties)}
    for key in ("Description", "KmsKeyId"):
        if key in properties:
            request[key] = properties[key]
    if tags := _tags(properties):
        request["Tags"] = tags
    arn = context.client("secretsmanager").create_secret(**request)["ARN"]
    return PhysicalResource(logical_id, "AWS::SecretsManager::Secret", ref=arn, attributes={"Id": arn})


def _secret_string(context: _Context, properties: Mapping[str, Any]) -> str:
    generate = properties.get("GenerateSecretString")
    if generate is None:
        return str(properties.get("SecretString", ""))
    options = {key: value for key, value in generate.items() if key in _PASSWORD_OPTIONS}
    password = context.client("secretsmanager").get_random_password(**options)["RandomPassword"]
    template = generate.get("SecretStringTemplate")
    if template is None:
        return password
    return json.dumps({**json.loads(template), generate["GenerateStringKey"]: password})


# --------------------------------------------------------------------------- KMS, CloudWatch Logs, dashboards


def _create_key(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, frozenset({"Description", "EnableKeyRotation", "KeyPolicy", "Tags"}))
    request: dict[str, Any] = {"Tags": [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in _tags(properties)]}
    if "Description" in properties:
        request["Description"] = str(properties["Description"])
    if "KeyPolicy" in properties:
        request["Policy"] = _attribute_text(properties["KeyPolicy"])
    key = context.client("kms").create_key(**request)["KeyMetadata"]
    if properties.get("EnableKeyRotation") is True:
        context.client("kms").enable_key_rotation(KeyId=key["KeyId"])
    return PhysicalResource(logical_id, "AWS::KMS::Key", ref=key["KeyId"],
                            attributes={"Arn": key["Arn"], "KeyId": key["KeyId"]})


def _create_log_group(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, frozenset({"LogGroupName", "RetentionInDays", "KmsKeyId", "Tags"}))
    name = str(properties.get("LogGroupName") or _physical_name(logical_id, 512))
    logs = context.client("logs")
    logs.create_log_group(logGroupName=name, tags={tag["Key"]: tag["Value"] for tag in _tags(properties)})
    if "RetentionInDays" in properties:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(properties["RetentionInDays"]))
    return PhysicalResource(logical_id, "AWS::Logs::LogGroup", ref=name,
                            attributes={"Arn": context.arn("logs", f"log-group:{name}:*")})


def _create_dashboard(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, frozenset({"DashboardName", "DashboardBody"}))
    name = str(properties.get("DashboardName") or _physical_name(logical_id, 255))
    body = properties["DashboardBody"]
    context.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=body if isinstance(body, str) else
                                     json.dumps(body))
    return PhysicalResource(logical_id, "AWS::CloudWatch::Dashboard", ref=name)


# --------------------------------------------------------------------------- Cognito

_USER_POOL = "AWS::Cognito::UserPool"
_USER_POOL_CLIENT = "AWS::Cognito::UserPoolClient"
# CreateUserPool takes these as CloudFormation names them.
_USER_POOL_PASSED_AS_IS = frozenset(
    {
        "AccountRecoverySetting",
        "AdminCreateUserConfig",
        "AliasAttributes",
        "AutoVerifiedAttributes",
        "DeletionProtection",
        "EmailConfiguration",
        "MfaConfiguration",
        "Policies",
        "Schema",
        "UserAttributeUpdateSettings",
        "UsernameAttributes",
        "UsernameConfiguration",
        "VerificationMessageTemplate",
    }
)
# CreateUserPoolClient takes these as CloudFormation names them.
_USER_POOL_CLIENT_PASSED_AS_IS = frozenset(
    {
        "AccessTokenValidity",
        "AllowedOAuthFlows",
        "AllowedOAuthFlowsUserPoolClient",
        "AllowedOAuthScopes",
        "AuthSessionValidity",
        "CallbackURLs",
        "DefaultRedirectURI",
        "EnablePropagateAdditionalUserContextData",
        "EnableTokenRevocation",
        "ExplicitAuthFlows",
        "GenerateSecret",
        "IdTokenValidity",
        "LogoutURLs",
        "PreventUserExistenceErrors",
        "ReadAttributes",
        "RefreshTokenValidity",
        "SupportedIdentityProviders",
        "TokenValidityUnits",
        "WriteAttributes",
    }
)


def _create_user_pool(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, _USER_POOL_PASSED_AS_IS | {"UserPoolName", "UserPoolTags"})
    request = {key: value for key, value in properties.items() if key in _USER_POOL_PASSED_AS_IS}
    if tags := properties.get("UserPoolTags"):
        request["UserPoolTags"] = {str(key): str(value) for key, value in tags.items()}
    name = str(properties.get("UserPoolName") or _physical_name(logical_id, 128))
    pool = context.client("cognito-idp").create_user_pool(PoolName=name, **request)["UserPool"]
    provider = f"cognito-idp.{context.region}.amazonaws.com/{pool['Id']}"
    return PhysicalResource(
        logical_id,
        _USER_POOL,
        ref=pool["Id"],
        attributes={
            "Arn": pool["Arn"],
            "UserPoolId": pool["Id"],
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
        },
    )


def _create_user_pool_client(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, _USER_POOL_CLIENT_PASSED_AS_IS | {"ClientName", "UserPoolId"})
    request = {key: value for key, value in properties.items() if key in _USER_POOL_CLIENT_PASSED_AS_IS}
    name = str(properties.get("ClientName") or _physical_name(logical_id, 128))
    client = context.client("cognito-idp").create_user_pool_client(
        UserPoolId=properties["UserPoolId"], ClientName=name, **request
    )["UserPoolClient"]
    attributes = {"ClientId": client["ClientId"], "Name": name}
    if "ClientSecret" in client:
        attributes["ClientSecret"] = client["ClientSecret"]
    return PhysicalResource(logical_id, _USER_POOL_CLIENT, ref=client["ClientId"], attributes=attributes)


def _create_resource_server(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    _check_properties(logical_id, properties, frozenset({"Identifier", "Name", "Scopes", "UserPoolId"}))
    context.client("cognito-idp").create_resource_server(
        UserPoolId=properties["UserPoolId"],
        Identifier=properties["Identifier"],
        Name=properties["Name"],
        Scopes=properties.get("Scopes") or [],
    )
    return PhysicalResource(logical_id, "AWS::Cognito::UserPoolResourceServer", ref=str(properties["Identifier"]))


def _create_user_pool_domain(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    """The domain is recorded, but the embedded AWS serves no OAuth 2.0 token endpoint behind it: locally,
    machine clients use the stack's x-api-key instead of client credentials."""
    _check_properties(logical_id, properties, frozenset({"Domain", "UserPoolId", "ManagedLoginVersion"}))
    context.client("cognito-idp").create_user_pool_domain(
        UserPoolId=properties["UserPoolId"], Domain=properties["Domain"]
    )
    return PhysicalResource(logical_id, "AWS::Cognito::UserPoolDomain", ref=str(properties["Domain"]),
                            attributes={"CloudFrontDistribution": f"{properties['Domain']}.cloudfront.net"})


# --------------------------------------------------------------------------- played by the runner


def _played_function(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    name = str(properties.get("FunctionName") or _physical_name(logical_id, 64))
    arn = context.arn("lambda", f"function:{name}")
    return PhysicalResource(logical_id, SERVERLESS_FUNCTION, ref=name, attributes={"Arn": arn})


def _played_api(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    api_id = logical_id.lower()
    return PhysicalResource(
        logical_id,
        "AWS::Serverless::Api",
        ref=api_id,
        attributes={
            "RootResourceId": "root",
            "Arn": f"arn:aws:apigateway:{context.region}::/restapis/{api_id}",
        },
    )


_Provisioner = Callable[[_Context, str, Mapping[str, Any]], PhysicalResource]


def _noted(resource_type: str, service: str) -> _Provisioner:
    """Resources nothing local uses (an IAM role, API Gateway's account settings): an id and an ARN, so
    references to them resolve."""

    def note(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
        name = _physical_name(logical_id, 64)
        return PhysicalResource(logical_id, resource_type, ref=name, attributes={"Arn": context.arn(service, name)})

    return note


def _played_cloudfront(context: _Context, logical_id: str, properties: Mapping[str, Any],
                       resource_type: str) -> PhysicalResource:
    """CloudFront's console distribution and its parts: locally the console server serves the built
    console and forwards /v1/* to the API in their place. An id and the attributes each type has."""
    resource_id = "E" + logical_id.upper()[:13]
    arn = f"arn:aws:cloudfront::{ACCOUNT_ID}:function/{logical_id}"
    attributes = {
        "AWS::CloudFront::Distribution": {"Id": resource_id, "DomainName": f"{resource_id.lower()}.cloudfront.net"},
        "AWS::CloudFront::OriginAccessControl": {"Id": resource_id},
        "AWS::CloudFront::ResponseHeadersPolicy": {"Id": resource_id},
        "AWS::CloudFront::Function": {"FunctionARN": arn, "FunctionMetadata.FunctionARN": arn, "Stage": "LIVE"},
    }[resource_type]
    return PhysicalResource(logical_id, resource_type, ref=arn if "FunctionARN" in attributes else resource_id,
                            attributes=attributes)


def _played_layer(context: _Context, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    name = str(properties.get("LayerName") or _physical_name(logical_id, 140))
    return PhysicalResource(logical_id, "AWS::Serverless::LayerVersion", ref=context.arn("lambda", f"layer:{name}:1"))


_PROVISIONERS: Mapping[str, _Provisioner] = MappingProxyType(
    {
        _TABLE: _create_table,
        _QUEUE: _create_queue,
        "AWS::SQS::QueuePolicy": _create_queue_policy,
        "AWS::S3::Bucket": _create_bucket,
        "AWS::S3::BucketPolicy": _create_bucket_policy,
        "AWS::SNS::Topic": _create_topic,
        "AWS::CloudWatch::Alarm": _create_alarm,
        "AWS::SecretsManager::Secret": _create_secret,
        "AWS::KMS::Key": _create_key,
        "AWS::Logs::LogGroup": _create_log_group,
        "AWS::CloudWatch::Dashboard": _create_dashboard,
        _USER_POOL: _create_user_pool,
        _USER_POOL_CLIENT: _create_user_pool_client,
        "AWS::Cognito::UserPoolResourceServer": _create_resource_server,
        "AWS::Cognito::UserPoolDomain": _create_user_pool_domain,
        # Not created on AWS: the runner plays them; they only get ids so references resolve.
        SERVERLESS_FUNCTION: _played_function,
        "AWS::Serverless::Api": _played_api,
        "AWS::Serverless::LayerVersion": _played_layer,
        "AWS::IAM::Role": _noted("AWS::IAM::Role", "iam"),
        **{resource_type: functools.partial(_played_cloudfront, resource_type=resource_type) for resource_type in (
            "AWS::CloudFront::Distribution", "AWS::CloudFront::OriginAccessControl",
            "AWS::CloudFront::ResponseHeadersPolicy", "AWS::CloudFront::Function")},
        "AWS::ApiGateway::Account": _noted("AWS::ApiGateway::Account", "apigateway"),
    }
)
