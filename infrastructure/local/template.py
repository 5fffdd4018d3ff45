"""Read template.yaml, the single source of the stack's wiring, and resolve its intrinsic functions.

The local stack never repeats what the template says: table keys, queue redrives, function
environments and event sources are all read from here. Only the CloudFormation features the
template uses (or that cost a line) are understood; anything else fails loudly with a
`TemplateError` rather than being guessed at.
"""

from __future__ import annotations

import base64
import graphlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE_PATH = REPO_ROOT / "template.yaml"

STACK_NAME = "stocksync-local"
ACCOUNT_ID = "123456789012"  # moto's default account: ARNs we build match the ones moto returns
DEFAULT_REGION = "eu-west-1"

SERVERLESS_FUNCTION = "AWS::Serverless::Function"

# Lambda's defaults when neither the function nor Globals say otherwise.
_DEFAULT_TIMEOUT_SECONDS = 3
_DEFAULT_MEMORY_MB = 128

_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class TemplateError(Exception):
    """The template asks for something the local stack does not understand or cannot play."""


class _NoValue:
    """`AWS::NoValue`: the key or list item holding it disappears."""


NO_VALUE = _NoValue()


# --------------------------------------------------------------------------- YAML with short tags


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags (`!Ref`, `!Sub`, ...) into their long form."""


def _construct_node(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


def _long_form(name: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {name: _construct_node(loader, node)}

    return construct


def _construct_get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct_node(loader, node)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {"Fn::GetAtt": value}


_CloudFormationLoader.add_constructor("!Ref", _long_form("Ref"))
_CloudFormationLoader.add_constructor("!Condition", _long_form("Condition"))
_CloudFormationLoader.add_constructor("!GetAtt", _construct_get_att)
for _function in (
    "And", "Base64", "Equals", "FindInMap", "GetAZs", "If", "ImportValue", "Join", "Not", "Or",
    "Select", "Split", "Sub",
):  # fmt: skip
    _CloudFormationLoader.add_constructor(f"!{_function}", _long_form(f"Fn::{_function}"))


# --------------------------------------------------------------------------- the template


@dataclass(frozen=True)
class EventSpec:
    """One entry of a function's `Events` (an event source the runner plays)."""

    name: str
    type: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    """An `AWS::Serverless::Function` with `Globals.Function` merged in, as SAM would deploy it.

    `environment` is unresolved (it refers to resources); `ProvisionedStack.function_environment`
    resolves it once the resources exist.
    """

    logical_id: str
    code_uri: Path
    handler: str
    timeout: int
    memory_size: int
    environment: Mapping[str, Any]
    events: tuple[EventSpec, ...]
    properties: Mapping[str, Any] = field(repr=False)

    def events_of_type(self, *types: str) -> tuple[EventSpec, ...]:
        return tuple(event for event in self.events if event.type in types)


@dataclass(frozen=True)
class Template:
    """A parsed SAM template (intrinsics kept in long form, resolved later by a `Resolver`)."""

    path: Path
    body: Mapping[str, Any]

    @property
    def root(self) -> Path:
        """The directory relative paths in the template (CodeUri) start from."""
        return self.path.parent

    @property
    def parameters(self) -> Mapping[str, Mapping[str, Any]]:
        return self.body.get("Parameters") or {}

    @property
    def conditions(self) -> Mapping[str, Any]:
        return self.body.get("Conditions") or {}

    @property
    def mappings(self) -> Mapping[str, Any]:
        return self.body.get("Mappings") or {}

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        return self.body.get("Resources") or {}

    @property
    def outputs(self) -> Mapping[str, Any]:
        return self.body.get("Outputs") or {}

    def global_section(self, resource_kind: str) -> Mapping[str, Any]:
        """`Globals.<kind>` (Function, Api, ...), empty when absent."""
        return (self.body.get("Globals") or {}).get(resource_kind) or {}

    def resource(self, logical_id: str) -> Mapping[str, Any]:
        try:
            return self.resources[logical_id]
        except KeyError:
            raise TemplateError(f"{self.path.name} has no resource {logical_id!r}") from None

    def resource_type(self, logical_id: str) -> str:
        return str(self.resource(logical_id)["Type"])

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        return self.resource(logical_id).get("Properties") or {}

    def dependencies(self, logical_id: str) -> set[str]:
        """Resources `logical_id` needs first: its Ref/GetAtt/Sub targets and its DependsOn."""
        resource = self.resource(logical_id)
        depends_on = resource.get("DependsOn") or []
        named = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        referenced = set(referenced_names(resource.get("Properties") or {}))
        return (named | referenced) & self.resources.keys() - {logical_id}

    def creation_order(self) -> list[str]:
        """Every resource, each after the resources it depends on (a topological sort)."""
        graph = {logical_id: self.dependencies(logical_id) for logical_id in self.resources}
        try:
            return list(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError as exc:
            raise TemplateError(f"circular dependency between resources: {exc.args[1]}") from exc

    def functions(self) -> tuple[FunctionSpec, ...]:
        """The template's Serverless functions, Globals merged in (SAM's rules)."""
        return tuple(
            self.function(logical_id)
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == SERVERLESS_FUNCTION
        )

    def function(self, logical_id: str) -> FunctionSpec:
        if self.resource_type(logical_id) != SERVERLESS_FUNCTION:
            raise TemplateError(f"{logical_id} is not an {SERVERLESS_FUNCTION}")
        properties = merge_globals(self.global_section("Function"), self.properties(logical_id))
        # Scalars may be intrinsics over parameters (e.g. !Ref TimeoutParameter).
        scalars = Resolver(self)
        events = properties.get("Events") or {}
        return FunctionSpec(
            logical_id=logical_id,
            code_uri=self.root / str(scalars.resolve(properties.get("CodeUri", "."))),
            handler=str(scalars.resolve(properties["Handler"])),
            timeout=int(scalars.resolve(properties.get("Timeout", _DEFAULT_TIMEOUT_SECONDS))),
            memory_size=int(scalars.resolve(properties.get("MemorySize", _DEFAULT_MEMORY_MB))),
            environment=(properties.get("Environment") or {}).get("Variables") or {},
            events=tuple(
                EventSpec(name=name, type=str(event["Type"]), properties=event.get("Properties") or {})
                for name, event in events.items()
            ),
            properties=properties,
        )


def load_template(path: Path = DEFAULT_TEMPLATE_PATH) -> Template:
    """Parse a CloudFormation/SAM template, short tags included."""
    with path.open(encoding="utf-8") as stream:
        body = yaml.load(stream, Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(body, dict) or "Resources" not in body:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return Template(path=path.resolve(), body=body)


def merge_globals(global_properties: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals merge: maps merge key by key, lists add up, the resource's scalars win."""
    merged = dict(global_properties)
    for key, value in properties.items():
        inherited = merged.get(key)
        if isinstance(inherited, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_globals(inherited, value)
        elif isinstance(inherited, list) and isinstance(value, list):
            merged[key] = [*inherited, *value]
        else:
            merged[key] = value
    return merged


def referenced_names(value: Any) -> Iterator[str]:
    """Names a (long-form) value refers to through Ref, Fn::GetAtt and Fn::Sub."""
    if isinstance(value, list):
        for item in value:
            yield from referenced_names(item)
    elif isinstance(value, Mapping):
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" and isinstance(argument, str):
                yield argument
                return
            if key == "Fn::GetAtt":
                yield _get_att_parts(argument)[0] if isinstance(argument, str) else str(argument[0])
                return
            if key == "Fn::Sub":
                yield from _sub_names(argument)
                return
        for item in value.values():
            yield from referenced_names(item)


def _sub_names(argument: Any) -> Iterator[str]:
    text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
    for name in _SUB_VARIABLE.findall(text):
        if not name.startswith("!") and name not in variables:
            yield name.split(".", 1)[0]
    yield from referenced_names(variables)


def _get_att_parts(argument: str) -> tuple[str, str]:
    resource, _, attribute = argument.partition(".")
    return resource, attribute


# --------------------------------------------------------------------------- intrinsic resolution


@dataclass(frozen=True)
class PhysicalResource:
    """What a resource became: `ref` is what `!Ref` gives, `attributes` what `!GetAtt` gives."""

    logical_id: str
    resource_type: str
    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


def current_region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def pseudo_parameters(region: str, stack_name: str = STACK_NAME) -> dict[str, Any]:
    return {
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local",
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Region": region,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
        "AWS::NoValue": NO_VALUE,
    }


class Resolver:
    """Evaluates intrinsic functions against parameters, pseudo parameters, conditions and the
    physical resources provisioned so far."""

    def __init__(
        self,
        template: Template,
        resources: Mapping[str, PhysicalResource] | None = None,
        region: str | None = None,
        parameter_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.template = template
        self.resources: Mapping[str, PhysicalResource] = resources or {}
        self.region = region or current_region()
        self._pseudo = pseudo_parameters(self.region)
        self._parameters = self._parameter_values(parameter_overrides or {})
        self._intrinsics: Mapping[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            **{key: self._condition_as_value(key) for key in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or")},
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": self._base64,
            "Fn::GetAZs": self._get_azs,
        }

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic evaluated; `AWS::NoValue` removes keys and list items."""
        resolved = self._resolve(value)
        return None if resolved is NO_VALUE else resolved

    def condition(self, name: str) -> bool:
        """The value of a named entry of `Conditions`."""
        try:
            expression = self.template.conditions[name]
        except KeyError:
            raise TemplateError(f"unknown condition {name!r}") from None
        return self._truth(expression)

    def is_active(self, logical_id: str) -> bool:
        """False when the resource has a `Condition` that evaluates false (CloudFormation skips it)."""
        condition = self.template.resource(logical_id).get("Condition")
        return condition is None or self.condition(str(condition))

    # -- internals

    def _parameter_values(self, overrides: Mapping[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, spec in self.template.parameters.items():
            value = overrides.get(name, spec.get("Default"))
            if value is not None and str(spec.get("Type", "")).startswith(("List<", "CommaDelimitedList")):
                value = [item.strip() for item in str(value).split(",")]
            values[name] = value
        return values

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = (self._resolve(item) for item in value)
            return [item for item in items if item is not NO_VALUE]
        if isinstance(value, Mapping):
            if len(value) == 1:
                ((key, argument),) = value.items()
                intrinsic = self._intrinsics.get(key)
                if intrinsic is not None:
                    return intrinsic(argument)
                if key.startswith("Fn::"):
                    raise TemplateError(f"intrinsic function {key} is not supported locally")
            resolved = ((key, self._resolve(item)) for key, item in value.items())
            return {key: item for key, item in resolved if item is not NO_VALUE}
        return value

    def _ref(self, name: Any) -> Any:
        name = self._resolve(name)
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            if self._parameters[name] is None:
                raise TemplateError(f"parameter {name} has no Default and no value was given")
            return self._parameters[name]
        return self._physical(name).ref

    def _physical(self, logical_id: str) -> PhysicalResource:
        if logical_id in self.resources:
            return self.resources[logical_id]
        if logical_id in self.template.resources:
            kind = self.template.resource_type(logical_id)
            raise TemplateError(f"{logical_id} ({kind}) is referenced but not provisioned (yet)")
        raise TemplateError(f"reference to unknown resource or parameter {logical_id!r}")

    def _get_att(self, argument: Any) -> str:
        if isinstance(argument, str):
            logical_id, attribute = _get_att_parts(argument)
        else:
            logical_id, attribute = (str(self._resolve(part)) for part in argument)
        physical = self._physical(logical_id)
        try:
            return physical.attributes[attribute]
        except KeyError:
            known = ", ".join(sorted(physical.attributes)) or "none"
            raise TemplateError(
                f"!GetAtt {logical_id}.{attribute}: {physical.resource_type} has no such attribute "
                f"locally (known: {known})"
            ) from None

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _to_text(self._resolve(variables[name]))
            if "." in name and name not in self._pseudo:
                return _to_text(self._get_att(name))
            return _to_text(self._ref(name))

        return _SUB_VARIABLE.sub(substitute, text)

    def _join(self, argument: Any) -> str:
        delimiter, items = argument
        return str(delimiter).join(_to_text(item) for item in self._resolve(items))

    def _select(self, argument: Any) -> Any:
        index, items = self._resolve(argument)
        return items[int(index)]

    def _split(self, argument: Any) -> list[str]:
        delimiter, text = self._resolve(argument)
        return str(text).split(str(delimiter))

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self._resolve(when_true if self.condition(str(name)) else when_false)

    def _condition_as_value(self, key: str) -> Callable[[Any], bool]:
        """A condition function used as a value (a property set to !Equals [...]) gives a boolean."""
        return lambda argument: self._truth({key: argument})

    def _truth(self, expression: Any) -> bool:
        """Evaluate a condition expression (Fn::Equals/Not/And/Or, {Condition: name}, a literal)."""
        if isinstance(expression, Mapping) and len(expression) == 1:
            ((key, argument),) = expression.items()
            if key == "Condition":
                return self.condition(str(argument))
            if key == "Fn::Equals":
                left, right = (_to_text(self._resolve(side)) for side in argument)
                return left == right
            if key == "Fn::Not":
                return not self._truth(argument[0])
            if key == "Fn::And":
                return all(self._truth(item) for item in argument)
            if key == "Fn::Or":
                return any(self._truth(item) for item in argument)
        resolved = self._resolve(expression)
        return resolved is True or str(resolved).lower() == "true"

    def _find_in_map(self, argument: Any) -> Any:
        map_name, top_key, second_key = (str(part) for part in self._resolve(argument))
        try:
            return self.template.mappings[map_name][top_key][second_key]
        except KeyError:
            raise TemplateError(f"!FindInMap [{map_name}, {top_key}, {second_key}] not found") from None

    def _base64(self, argument: Any) -> str:
        return base64.b64encode(_to_text(self._resolve(argument)).encode()).decode()

    def _get_azs(self, argument: Any) -> list[str]:
        return [f"{self.region}{zone}" for zone in "abc"]


def _to_text(value: Any) -> str:
    """How CloudFormation turns a value into a string (booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_environment_value(value: Any) -> str:
    """Lambda environment variables are strings; CloudFormation stringifies YAML scalars."""
    if value is None:
        return ""
    return _to_text(value)


# --------------------------------------------------------------------------- handlers


def load_handler(template: Template, function_logical_id: str, container: int = 0) -> Callable[[Any, Any], Any]:
    """Import a function's handler from its CodeUri, as a fresh module (a cold start).

    Every function's file is `app.py`, so each is imported under a module name derived from its
    logical id (and, after the first, the container's number), straight from its file: no sys.path
    changes, no clash between functions or between containers of one function.
    """
    function = template.function(function_logical_id)
    module_path, _, attribute = function.handler.rpartition(".")
    source = function.code_uri / (module_path.replace(".", "/") + ".py")
    if not module_path or not source.is_file():
        raise TemplateError(f"{function_logical_id}: handler {function.handler!r} needs {source}")
    instance = f"{function_logical_id}.container{container}" if container else function_logical_id
    module_name = f"stocksync_local_functions.{instance}.{module_path}"
    spec = importlib.util.spec_from_file_location(module_name, source)
    if spec is None or spec.loader is None:
        raise TemplateError(f"{function_logical_id}: cannot import {source}")
    module = importlib.util.module_from_spec(spec)
    # Registered before running it, as `import` would: dataclasses and pydantic look modules up here.
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise TemplateError(f"{function_logical_id}: {source} has no callable {attribute!r}")
    return handler
