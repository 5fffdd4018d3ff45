"""template.yaml is read with its short tags, and intrinsics resolve as CloudFormation would."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.local.template import (
    DEFAULT_TEMPLATE_PATH,
    PhysicalResource,
    Resolver,
    Template,
    TemplateError,
    load_handler,
    load_template,
)

SMALL_TEMPLATE = """
Parameters:
  Stage: {Type: String, Default: dev}
  Email: {Type: String, Default: ""}
  Zones: {Type: CommaDelimitedList, Default: "a,b,c"}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  HasEmail: !Not [!Equals [!Ref Email, ""]]
  ProdWithEmail: !And [!Condition IsProd, !Condition HasEmail]
Mappings:
  Sizes: {dev: {Memory: 128}, prod: {Memory: 1024}}
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
    Condition: IsProd
  Values:
    Type: Custom::Values
    DependsOn: Topic
    Properties:
      Name: !Sub "${AWS::StackName}-${Stage}-${AWS::Region}"
      Listed: !Sub ["${Prefix}/${Queue.QueueName}/${!Literal}", {Prefix: !Ref Stage}]
      ArnList: !GetAtt [Queue, Arn]
      ArnDotted: !GetAtt Queue.Arn
      Url: !Ref Queue
      Joined: !Join [",", [!Ref Stage, x]]
      Second: !Select [1, !Ref Zones]
      Parts: !Split ["/", "a/b"]
      Memory: !FindInMap [Sizes, !Ref Stage, Memory]
      Optional: !If [HasEmail, !Ref Email, !Ref AWS::NoValue]
      Items: [one, !If [IsProd, two, !Ref AWS::NoValue]]
      IsProdValue: !Equals [!Ref Stage, prod]
"""


@pytest.fixture
def small_template(tmp_path: Path) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(SMALL_TEMPLATE)
    return load_template(path)


@pytest.fixture
def resolver(small_template: Template) -> Resolver:
    queue = PhysicalResource(
        "Queue",
        "AWS::SQS::Queue",
        ref="http://sqs/123456789012/q",
        attributes={"Arn": "arn:aws:sqs:eu-west-1:123456789012:q", "QueueName": "q"},
    )
    return Resolver(small_template, {"Queue": queue}, region="eu-west-1")


def test_given_short_tags_when_loaded_then_long_form() -> None:
    template = load_template()

    bucket = template.properties("CatalogueBucket")
    queue_config = bucket["NotificationConfiguration"]["QueueConfigurations"][0]
    assert queue_config["Queue"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    assert bucket["BucketName"] == {"Fn::Sub": "${AWS::StackName}-catalogues-${AWS::AccountId}-${AWS::Region}"}
    assert template.conditions["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


def test_given_intrinsics_when_resolved_then_values_as_cloudformation_gives(
    small_template: Template, resolver: Resolver
) -> None:
    values = resolver.resolve(small_template.properties("Values"))

    assert values == {
        "Name": "stocksync-local-dev-eu-west-1",
        "Listed": "dev/q/${Literal}",
        "ArnList": "arn:aws:sqs:eu-west-1:123456789012:q",
        "ArnDotted": "arn:aws:sqs:eu-west-1:123456789012:q",
        "Url": "http://sqs/123456789012/q",
        "Joined": "dev,x",
        "Second": "b",
        "Parts": ["a", "b"],
        "Memory": 128,
        "Items": ["one"],
        "IsProdValue": False,
    }


def test_given_parameter_override_when_conditions_evaluated_then_they_follow(
    small_template: Template,
) -> None:
    resolver = Resolver(small_template, parameter_overrides={"Stage": "prod", "Email": "ops@example.com"})

    assert resolver.condition("IsProd") is True
    assert resolver.condition("ProdWithEmail") is True
    assert resolver.is_active("Topic") is True
    assert Resolver(small_template).is_active("Topic") is False


def test_given_unprovisioned_resource_when_referenced_then_clear_error(small_template: Template) -> None:
    with pytest.raises(TemplateError, match=r"Queue .*not provisioned"):
        Resolver(small_template).resolve({"Ref": "Queue"})


def test_given_depends_on_and_references_when_ordered_then_dependencies_first() -> None:
    order = load_template().creation_order()

    assert order.index("IngestDeadLetterQueue") < order.index("IngestQueue")
    assert order.index("IngestQueuePolicy") < order.index("CatalogueBucket")  # DependsOn
    assert order.index("CatalogueBucket") < order.index("CatalogueBucketTlsOnlyPolicy")
    assert order.index("AlarmTopic") < order.index("StockDeadLetterAlarm")


def test_given_globals_when_functions_listed_then_merged_into_each() -> None:
    api = load_template().function("ApiFunction")

    assert api.logical_id == "ApiFunction"
    assert api.code_uri == DEFAULT_TEMPLATE_PATH.parent / "functions" / "api"
    assert api.handler == "app.lambda_handler"
    assert api.timeout == 29  # the function's own value wins over Globals
    assert api.memory_size == 512  # from Globals
    assert api.environment["POWERTOOLS_SERVICE_NAME"] == "stocksync"
    assert api.environment["TABLE_NAME"] == {"Ref": "Table"}
    assert [(event.name, event.type) for event in api.events] == [("Root", "Api"), ("AnyRoute", "Api")]


def test_given_functions_sharing_code_when_handlers_loaded_then_separate_modules(
    runner_template: Template,
) -> None:
    batch = load_handler(runner_template, "BatchFunction")
    scheduled = load_handler(runner_template, "ScheduledFunction")

    assert callable(batch)
    assert batch.__module__ != scheduled.__module__


def test_given_unknown_intrinsic_when_resolved_then_clear_error(small_template: Template) -> None:
    with pytest.raises(TemplateError, match="Fn::ImportValue"):
        Resolver(small_template).resolve({"Fn::ImportValue": "shared-vpc"})
