"""template.yaml provisioned on the embedded AWS has the wiring the template declares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest

from infrastructure.local.cognito_authorizer import cognito_authorizers
from infrastructure.local.provision import EnvironmentConflictError, ProvisionedStack, provision
from infrastructure.local.sign_in import DEMO_USERNAME, DemoSignInError, demo_sign_in
from infrastructure.local.template import TemplateError, load_template


@pytest.fixture
def stack(aws: str) -> ProvisionedStack:
    return provision(load_template())


def _template(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return load_template(path)


def test_given_template_when_provisioned_then_table_has_gsis_ttl_and_pitr(stack: ProvisionedStack) -> None:
    dynamodb = boto3.client("dynamodb")
    table_name = stack.ref("Table")

    table = dynamodb.describe_table(TableName=table_name)["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    backups = dynamodb.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]

    assert sorted(index["IndexName"] for index in table["GlobalSecondaryIndexes"]) == ["GSI1", "GSI2", "GSI3", "GSI4"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {key["AttributeName"] for key in table["KeySchema"]} == {"PK", "SK"}
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_given_catalogue_bucket_when_object_put_under_prefix_then_ingest_queue_notified(
    stack: ProvisionedStack,
) -> None:
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    bucket = stack.ref("CatalogueBucket")

    s3.put_object(Bucket=bucket, Key="elsewhere/ignored.csv", Body=b"sku,qty\n")
    s3.put_object(Bucket=bucket, Key="catalogues/seller-1/stock file.csv", Body=b"sku,qty\n")

    messages = sqs.receive_message(QueueUrl=stack.ref("IngestQueue"), MaxNumberOfMessages=10)["Messages"]
    records = [record for m in messages for record in json.loads(m["Body"]).get("Records", [])]  # skips TestEvent
    assert [unquote_plus(record["s3"]["object"]["key"]) for record in records] == ["catalogues/seller-1/stock file.csv"]


def test_given_catalogue_bucket_when_provisioned_then_locked_down(stack: ProvisionedStack) -> None:
    s3 = boto3.client("s3")
    bucket = stack.ref("CatalogueBucket")

    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]

    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(block.values())
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert lifecycle[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    (cors,) = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]  # the console's uploads from the browser
    assert cors["AllowedMethods"] == ["PUT"] and cors["MaxAgeSeconds"] == 3600


def test_given_catalogue_bucket_when_a_file_is_overwritten_then_the_old_one_is_kept_until_it_expires(
    stack: ProvisionedStack,
) -> None:
    s3 = boto3.client("s3")
    bucket = stack.ref("CatalogueBucket")

    s3.put_object(Bucket=bucket, Key="catalogues/seller-1/listings.csv", Body=b"sku,qty\na,1\n")
    s3.put_object(Bucket=bucket, Key="catalogues/seller-1/listings.csv", Body=b"sku,qty\na,0\n")

    versions = s3.list_object_versions(Bucket=bucket, Prefix="catalogues/seller-1/")["Versions"]
    rules = {rule["ID"]: rule for rule in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert len(versions) == 2
    assert rules["noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rules["noncurrent-versions"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert rules["staging"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    assert rules["old-catalogues"]["Expiration"] == {"Days": 30}


def test_given_tls_only_bucket_policy_when_provisioned_locally_then_plain_http_is_not_denied(
    stack: ProvisionedStack,
) -> None:
    # moto enforces Deny statements without their conditions; the local endpoint is plain HTTP.
    s3 = boto3.client("s3")
    bucket = stack.ref("CatalogueBucket")

    s3.put_object(Bucket=bucket, Key="catalogues/x.csv", Body=b"sku,qty\n")

    assert s3.get_object(Bucket=bucket, Key="catalogues/x.csv")["Body"].read() == b"sku,qty\n"


@pytest.mark.parametrize(
    ("queue", "dead_letter_queue", "max_receive_count"),
    [
        ("IngestQueue", "IngestDeadLetterQueue", 5),
        ("MappingQueue", "MappingDeadLetterQueue", 5),
        ("StockQueue", "StockDeadLetterQueue", 8),
        ("JobsQueue", "JobsDeadLetterQueue", 3),
    ],
)
def test_given_queues_when_provisioned_then_they_redrive_to_their_dlq(
    stack: ProvisionedStack, queue: str, dead_letter_queue: str, max_receive_count: int
) -> None:
    attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=stack.ref(queue), AttributeNames=["All"])

    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == stack.attribute(dead_letter_queue, "Arn")
    assert int(redrive["maxReceiveCount"]) == max_receive_count


def test_given_dead_letter_queues_when_provisioned_then_each_has_an_alarm(stack: ProvisionedStack) -> None:
    alarms = boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]

    watched = {alarm["Dimensions"][0]["Value"]: alarm for alarm in alarms if alarm.get("Dimensions")}
    for dead_letter_queue in ("Ingest", "Mapping", "Stock", "Jobs", "OrderNotification"):
        alarm = watched[stack.attribute(f"{dead_letter_queue}DeadLetterQueue", "QueueName")]
        assert alarm["AlarmActions"] == [stack.ref("AlarmTopic")]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"


def test_given_provisioned_stack_when_environment_read_then_resolved_to_physical_ids(
    stack: ProvisionedStack,
) -> None:
    environment = stack.function_environment("ApiFunction")

    assert environment["TABLE_NAME"] == stack.ref("Table")
    assert environment["STOCK_QUEUE_URL"] == stack.ref("StockQueue")
    assert environment["CATALOGUE_BUCKET"] == "stocksync-local-catalogues-123456789012-eu-west-1"
    assert environment["SECRETS_PREFIX"] == "/stocksync/stocksync-local/"
    assert environment["POWERTOOLS_LOG_LEVEL"] == "INFO"
    # Locally every handler runs in one process: its environment holds each function's variables.
    for function in stack.template.functions():
        assert stack.function_environment(function.logical_id).items() <= stack.environment.items()


def test_given_unsupported_resource_type_when_provisioned_then_error_names_it(aws: str, tmp_path: Path) -> None:
    template = _template(tmp_path, "Resources:\n  Job:\n    Type: AWS::Glue::Job\n    Properties: {}\n")

    with pytest.raises(TemplateError, match=r"Job: resource type AWS::Glue::Job is not supported"):
        provision(template)


def test_given_generated_secret_when_provisioned_then_it_holds_a_random_password(aws: str, tmp_path: Path) -> None:
    template = _template(
        tmp_path,
        """
Resources:
  Credentials:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub "stocksync/${AWS::StackName}/demo"
      GenerateSecretString:
        SecretStringTemplate: '{"username": "demo"}'
        GenerateStringKey: password
        PasswordLength: 20
""",
    )

    stack = provision(template)

    value = boto3.client("secretsmanager").get_secret_value(SecretId=stack.ref("Credentials"))
    secret = json.loads(value["SecretString"])
    assert value["Name"] == "stocksync/stocksync-local/demo"
    assert secret["username"] == "demo"
    assert len(secret["password"]) == 20


def test_given_functions_disagreeing_on_a_variable_when_environment_built_then_error(aws: str, tmp_path: Path) -> None:
    function = "    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: f/\n      Handler: app.h\n"
    template = _template(
        tmp_path,
        "Resources:\n"
        f"  One:\n{function}      Environment: {{Variables: {{MODE: one}}}}\n"
        f"  Two:\n{function}      Environment: {{Variables: {{MODE: two}}}}\n",
    )

    with pytest.raises(EnvironmentConflictError, match="MODE"):
        _ = provision(template).environment


def test_given_template_when_provisioned_then_people_sign_in_to_the_user_pool_by_email_only_as_created(
        stack: ProvisionedStack) -> None:
    cognito = boto3.client("cognito-idp")

    pool = cognito.describe_user_pool(UserPoolId=stack.ref("UserPool"))["UserPool"]
    console = cognito.describe_user_pool_client(UserPoolId=stack.ref("UserPool"),
                                                ClientId=stack.ref("ConsoleClient"))["UserPoolClient"]
    machines = cognito.describe_user_pool_client(UserPoolId=stack.ref("UserPool"),
                                                 ClientId=stack.ref("MachineClient"))["UserPoolClient"]

    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    assert set(console["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert "ClientSecret" not in console
    assert machines["AllowedOAuthFlows"] == ["client_credentials"]
    assert machines["AllowedOAuthScopes"] == ["stocksync-api/full"]
    assert machines["ClientSecret"]


def test_given_template_when_provisioned_then_the_api_takes_both_peoples_and_machines_tokens(
        stack: ProvisionedStack) -> None:
    authorizers = cognito_authorizers(stack)

    (authorizer,) = authorizers.values()
    assert list(authorizers) == [stack.ref("StockSyncApi")]
    assert authorizer.user_pool_id == stack.ref("UserPool")
    assert authorizer.scopes == {"aws.cognito.signin.user.admin", "stocksync-api/full"}


def test_given_template_when_the_demo_seller_signs_in_then_the_console_client_answers_tokens(
        stack: ProvisionedStack, aws: str) -> None:
    sign_in = demo_sign_in(stack, aws)

    answer = boto3.client("cognito-idp").initiate_auth(
        ClientId=sign_in.client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": sign_in.username, "PASSWORD": sign_in.password})
    assert sign_in.username == DEMO_USERNAME
    assert sign_in.client_id == stack.ref("ConsoleClient")
    assert sign_in.endpoint == f"{aws}/"
    assert answer["AuthenticationResult"]["AccessToken"]


def test_given_a_weak_demo_password_when_the_demo_seller_is_made_then_the_error_says_what_the_pool_asks(
        stack: ProvisionedStack, aws: str) -> None:
    with pytest.raises(DemoSignInError, match=r"STOCKSYNC_DEMO_PASSWORD .* at least 14 characters, with a lower-case"):
        demo_sign_in(stack, aws, password="short")
