#!/usr/bin/env python3
"""What cfn-lint does not check in deploy/template.yaml.

    .venv/bin/python deploy/check_template.py deploy/template.yaml

Rules, each about every Lambda function with an SQS event source:

  visibility-timeout  the queue's VisibilityTimeout is at least 6 x the
                      function's Timeout plus the largest batching window,
                      for every Timeout value the parameters allow (AWS's
                      rule; otherwise a slow batch is redelivered while it is
                      still being processed)
  batch-failures      the SQS event lists ReportBatchItemFailures (otherwise
                      one bad object makes the whole batch retry)
  no-wildcard-resource  no statement of the function's role allows a Resource
                      "*" or a wildcard that is not inside a resource of this
                      stack (bucket/*, log streams); parameters that flow into
                      a Resource must have an AllowedPattern refusing * and ?;
                      the role is the stack's own (no managed policies)
  dead-letter         the queue redrives to a dead-letter queue of this stack
                      with maxReceiveCount 5
  runtime             Runtime provided.al2023 and Architectures [arm64]

Then it proves that each rule can fail: it checks mutated copies of the
template, one per rule, and expects exactly that rule to reject each. Exit
status 0 when the template passes and every mutation is caught.
"""

from __future__ import annotations

import copy
import itertools
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import yaml

# ------------------------------------------------------------------ loading

# Short tags (!Ref, !Sub, ...) become the long forms CloudFormation documents.
_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
}


class _Loader(yaml.SafeLoader):
    pass


def _construct_tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in _SHORT_TAGS:
        return {_SHORT_TAGS[suffix]: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _construct_tag)


def load(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader)  # noqa: S506 - SafeLoader subclass


# ------------------------------------------------------------------ helpers


@dataclass
class Failure:
    rule: str
    message: str


@dataclass
class Report:
    failures: list[Failure] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)

    def fail(self, rule: str, message: str) -> None:
        self.failures.append(Failure(rule, message))

    def rules_failed(self) -> set[str]:
        return {f.rule for f in self.failures}


RULES = ["visibility-timeout", "batch-failures", "no-wildcard-resource", "dead-letter", "runtime"]


def resources(template: dict) -> dict:
    return template.get("Resources") or {}


def parameters(template: dict) -> dict:
    return template.get("Parameters") or {}


def referenced_resource(template: dict, value: Any) -> str | None:
    """The logical id a Ref or GetAtt names, if it is a resource of the template."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref" and arg in resources(template):
            return arg
        if key == "Fn::GetAtt" and isinstance(arg, list) and arg and arg[0] in resources(template):
            return arg[0]
    return None


def functions(template: dict) -> Iterator[tuple[str, dict]]:
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    for name, res in resources(template).items():
        if res.get("Type") == "AWS::Serverless::Function":
            props = {**globals_, **(res.get("Properties") or {})}
            yield name, props


def sqs_events(props: dict) -> Iterator[tuple[str, dict]]:
    for name, event in (props.get("Events") or {}).items():
        if event.get("Type") == "SQS":
            yield name, event.get("Properties") or {}


def candidates(template: dict, param: str) -> list[int]:
    """Every integer value a Number parameter may take."""
    spec = parameters(template).get(param)
    if spec is None:
        raise ValueError(f"parameter {param} is not declared")
    if "AllowedValues" in spec:
        return [int(v) for v in spec["AllowedValues"]]
    low, high = spec.get("MinValue"), spec.get("MaxValue")
    if low is None or high is None:
        raise ValueError(f"parameter {param} has no AllowedValues nor MinValue/MaxValue bounds")
    return list(range(int(low), int(high) + 1))


def evaluate(template: dict, value: Any, env: dict[str, int]) -> int:
    """An integer property: a literal, a Ref to a parameter, or a FindInMap."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, (int, str)):
        return int(value)
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            if arg not in env:
                raise ValueError(f"Ref {arg} is not a bounded parameter")
            return env[arg]
        if key == "Fn::FindInMap":
            mapping, first, second = (
                str(evaluate(template, a, env)) if isinstance(a, dict) else str(a) for a in arg
            )
            table = (template.get("Mappings") or {}).get(mapping)
            if table is None:
                raise ValueError(f"mapping {mapping} does not exist")
            if first not in table:
                raise ValueError(f"mapping {mapping} has no entry {first}")
            if second not in table[first]:
                raise ValueError(f"mapping {mapping}.{first} has no {second}")
            return int(table[first][second])
    raise ValueError(f"cannot evaluate {value!r}")


def refs(value: Any) -> set[str]:
    """Names Ref'd anywhere inside an expression."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            else:
                found |= refs(arg)
    elif isinstance(value, list):
        for item in value:
            found |= refs(item)
    return found


# -------------------------------------------------------------------- rules


def check_visibility_timeout(template: dict, report: Report) -> None:
    rule = "visibility-timeout"
    for fname, props in functions(template):
        for ename, event in sqs_events(props):
            queue = referenced_resource(template, event.get("Queue"))
            if queue is None:
                report.fail(rule, f"{fname}.Events.{ename}: Queue is not a queue of this stack")
                continue
            qprops = resources(template)[queue].get("Properties") or {}
            visibility = qprops.get("VisibilityTimeout", 30)
            timeout = props.get("Timeout", 3)
            window = event.get("MaximumBatchingWindowInSeconds", 0)
            names = sorted(
                (refs(visibility) | refs(timeout) | refs(window)) & set(parameters(template))
            )
            try:
                choices = [candidates(template, n) for n in names]
            except ValueError as e:
                report.fail(rule, f"{fname}: {e}, so the timeouts cannot be compared")
                continue
            # The worst case per function timeout, so one gap is one message.
            worst: dict[int, tuple[int, str]] = {}
            for combo in itertools.product(*choices):
                env = dict(zip(names, combo))
                try:
                    v = evaluate(template, visibility, env)
                    t = evaluate(template, timeout, env)
                    w = evaluate(template, window, env)
                except ValueError as e:
                    report.fail(rule, f"{fname}.Events.{ename}: with {env}: {e}")
                    break
                short = 6 * t + w - v
                if short > 0 and short > worst.get(t, (0, ""))[0]:
                    worst[t] = (
                        short,
                        f"Timeout {t} s and batching window {w} s need a visibility timeout "
                        f"of at least {6 * t + w} s (6 x {t} + {w}), {queue} has {v} s",
                    )
            for t in sorted(worst):
                report.fail(rule, f"{fname}.Events.{ename}: {worst[t][1]}")


def check_batch_failures(template: dict, report: Report) -> None:
    rule = "batch-failures"
    seen = False
    for fname, props in functions(template):
        for ename, event in sqs_events(props):
            seen = True
            types = event.get("FunctionResponseTypes") or []
            if "ReportBatchItemFailures" not in types:
                report.fail(
                    rule,
                    f"{fname}.Events.{ename}: FunctionResponseTypes {types} lacks "
                    "ReportBatchItemFailures",
                )
    if not seen:
        report.fail(rule, "no function has an SQS event source")


_WILDCARDS = re.compile(r"[*?]")
_PROBES = ["*", "?", "a*", "a*/", "*/", "s3://*", "s3://b/*", "s3://*/k", "a?/", "x/*/"]


def render(template: dict, value: Any, params_seen: set[str]) -> str:
    """A Resource expression as text: this stack's resources become <resource:Id>,
    parameters <param:Name>, anything computed <expr>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            if arg in resources(template):
                return f"<resource:{arg}>"
            if arg in parameters(template):
                params_seen.add(arg)
                return f"<param:{arg}>"
            return "<pseudo>"
        if key == "Fn::GetAtt":
            return f"<resource:{arg[0]}>" if arg[0] in resources(template) else "<expr>"
        if key == "Fn::Sub":
            text, bindings = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

            def sub(m: re.Match) -> str:
                name = m.group(1)
                if name in bindings:
                    return render(template, bindings[name], params_seen)
                base = name.split(".", 1)[0]
                if base in resources(template):
                    return f"<resource:{base}>"
                if name in parameters(template):
                    params_seen.add(name)
                    return f"<param:{name}>"
                return "<pseudo>"

            return re.sub(r"\$\{([^}!]+)\}", sub, text)
        if key == "Fn::Join":
            sep, items = arg
            return sep.join(render(template, i, params_seen) for i in items)
        # Select/Split/If...: whatever they compute, the parameters in them count.
        for name in refs(arg) & set(parameters(template)):
            params_seen.add(name)
        return "<expr>"
    return "<expr>"


def branches(value: Any) -> Iterator[Any]:
    """Every alternative of Fn::If, flattened; AWS::NoValue dropped."""
    if isinstance(value, dict) and len(value) == 1 and "Fn::If" in value:
        _, yes, no = value["Fn::If"]
        yield from branches(yes)
        yield from branches(no)
    elif value == {"Ref": "AWS::NoValue"}:
        return
    elif isinstance(value, list):
        for item in value:
            yield from branches(item)
    else:
        yield value


def role_statements(template: dict, role: str) -> Iterator[tuple[str, dict]]:
    props = resources(template)[role].get("Properties") or {}
    for policy in props.get("Policies") or []:
        for statement in branches((policy.get("PolicyDocument") or {}).get("Statement")):
            yield f"{role}.Policies.{policy.get('PolicyName')}", statement
    # Separate policies attached to the role.
    for name, res in resources(template).items():
        if res.get("Type") not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        rprops = res.get("Properties") or {}
        if any(referenced_resource(template, r) == role for r in rprops.get("Roles") or []):
            for statement in branches((rprops.get("PolicyDocument") or {}).get("Statement")):
                yield name, statement


def check_no_wildcard_resource(template: dict, report: Report) -> None:
    rule = "no-wildcard-resource"
    for fname, props in functions(template):
        role = referenced_resource(template, props.get("Role"))
        if role is None:
            report.fail(
                rule,
                f"{fname}: Role is not an AWS::IAM::Role of this stack; SAM's generated role "
                "attaches AWS managed policies with Resource \"*\"",
            )
            continue
        if props.get("Policies"):
            report.fail(rule, f"{fname}: Policies is ignored next to Role; put statements in {role}")
        managed = (resources(template)[role].get("Properties") or {}).get("ManagedPolicyArns")
        if managed:
            report.fail(rule, f"{role}: ManagedPolicyArns {managed} cannot be checked here")
        params_seen: set[str] = set()
        for where, statement in role_statements(template, role):
            sid = statement.get("Sid", "(no Sid)")
            if statement.get("Effect") != "Allow":
                continue
            if "NotResource" in statement:
                report.fail(rule, f"{where} statement {sid}: NotResource allows everything else")
            resource_list = statement.get("Resource")
            if resource_list is None:
                report.fail(rule, f"{where} statement {sid}: no Resource")
                continue
            for resource in branches(resource_list):
                text = render(template, resource, params_seen)
                anchor = text.find("<resource:")
                for m in _WILDCARDS.finditer(text):
                    if anchor < 0 or m.start() < anchor:
                        report.fail(
                            rule,
                            f"{where} statement {sid}: Resource {text!r} has a wildcard that is "
                            "not inside a resource of this stack",
                        )
                        break
        for name in sorted(params_seen):
            pattern = parameters(template)[name].get("AllowedPattern")
            allowed = parameters(template)[name].get("AllowedValues")
            if allowed is not None:
                leaks = [v for v in allowed if _WILDCARDS.search(str(v))]
            elif pattern is None:
                leaks = ["anything (no AllowedPattern)"]
            else:
                leaks = [p for p in _PROBES if re.fullmatch(pattern, p)]
            if leaks:
                report.fail(
                    rule,
                    f"parameter {name} flows into a Resource of {role} but accepts wildcards: "
                    f"{leaks}",
                )


def check_dead_letter(template: dict, report: Report) -> None:
    rule = "dead-letter"
    for fname, props in functions(template):
        for ename, event in sqs_events(props):
            queue = referenced_resource(template, event.get("Queue"))
            if queue is None:
                report.fail(rule, f"{fname}.Events.{ename}: Queue is not a queue of this stack")
                continue
            redrive = (resources(template)[queue].get("Properties") or {}).get("RedrivePolicy")
            if not redrive:
                report.fail(rule, f"{queue}: no RedrivePolicy, failed messages are never set aside")
                continue
            dlq = referenced_resource(template, redrive.get("deadLetterTargetArn"))
            if dlq is None or resources(template)[dlq].get("Type") != "AWS::SQS::Queue":
                report.fail(rule, f"{queue}: deadLetterTargetArn is not a queue of this stack")
            count = redrive.get("maxReceiveCount")
            if str(count) != "5":
                report.fail(rule, f"{queue}: RedrivePolicy maxReceiveCount is {count}, not 5")


def check_runtime(template: dict, report: Report) -> None:
    rule = "runtime"
    for fname, props in functions(template):
        if props.get("Runtime") != "provided.al2023":
            report.fail(rule, f"{fname}: Runtime is {props.get('Runtime')}, not provided.al2023")
        if props.get("Architectures") != ["arm64"]:
            report.fail(
                rule, f"{fname}: Architectures is {props.get('Architectures')}, not [arm64]"
            )
        if props.get("Handler") != "bootstrap":
            report.fail(rule, f"{fname}: Handler is {props.get('Handler')}, not bootstrap")


CHECKS: list[Callable[[dict, Report], None]] = [
    check_visibility_timeout,
    check_batch_failures,
    check_no_wildcard_resource,
    check_dead_letter,
    check_runtime,
]


def check(template: dict) -> Report:
    report = Report()
    for run in CHECKS:
        run(template, report)
    return report


# --------------------------------------------------------------- self-test


def _function(t: dict) -> dict:
    name = next(n for n, _ in functions(t))
    return resources(t)[name]["Properties"]


def _event(t: dict) -> dict:
    return next(e for _, e in sqs_events(_function(t)))


def _queue(t: dict) -> dict:
    return resources(t)[referenced_resource(t, _event(t)["Queue"])]["Properties"]


def _role_statements(t: dict) -> list:
    role = referenced_resource(t, _function(t)["Role"])
    return resources(t)[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def _shrink_largest_visibility(t: dict) -> None:
    """The largest allowed Timeout gets one second too little."""
    q = _queue(t)
    timeout = max(candidates(t, _function(t)["Timeout"]["Ref"]))
    window = max(candidates(t, _event(t)["MaximumBatchingWindowInSeconds"]["Ref"]))
    mapping, _, key = q["VisibilityTimeout"]["Fn::FindInMap"]
    t["Mappings"][mapping][str(timeout)][key] = 6 * timeout + window - 1


def _unbounded_timeout(t: dict) -> None:
    spec = parameters(t)[_function(t)["Timeout"]["Ref"]]
    spec.pop("AllowedValues", None)
    spec.pop("MaxValue", None)


def _remove_schema_pattern(t: dict) -> None:
    for name in refs(_role_statements(t)) & set(parameters(t)):
        parameters(t)[name].pop("AllowedPattern", None)


# Each mutation, and the one rule that must reject it.
MUTATIONS: list[tuple[str, str, Callable[[dict], None]]] = [
    ("visibility one second short for the largest Timeout", "visibility-timeout",
     _shrink_largest_visibility),
    ("fixed visibility timeout of 60 s", "visibility-timeout",
     lambda t: _queue(t).__setitem__("VisibilityTimeout", 60)),
    ("Timeout parameter without bounds", "visibility-timeout", _unbounded_timeout),
    ("no FunctionResponseTypes", "batch-failures",
     lambda t: _event(t).pop("FunctionResponseTypes")),
    ("Resource \"*\"", "no-wildcard-resource",
     lambda t: _role_statements(t).append(
         {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})),
    ("every bucket's objects", "no-wildcard-resource",
     lambda t: _role_statements(t).append(
         {"Effect": "Allow", "Action": "s3:PutObject",
          "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::*/*"}})),
    ("a parameter in a Resource without AllowedPattern", "no-wildcard-resource",
     _remove_schema_pattern),
    ("SAM's generated role", "no-wildcard-resource",
     lambda t: _function(t).pop("Role")),
    ("maxReceiveCount 3", "dead-letter",
     lambda t: _queue(t)["RedrivePolicy"].__setitem__("maxReceiveCount", 3)),
    ("no RedrivePolicy", "dead-letter", lambda t: _queue(t).pop("RedrivePolicy")),
    ("Runtime provided.al2", "runtime",
     lambda t: _function(t).__setitem__("Runtime", "provided.al2")),
    ("x86_64", "runtime", lambda t: _function(t).__setitem__("Architectures", ["x86_64"])),
]


def self_test(template: dict) -> list[str]:
    """Problems with the checker itself: a mutation it let through, or one that
    tripped a different rule."""
    problems = []
    for description, rule, mutate in MUTATIONS:
        mutated = copy.deepcopy(template)
        try:
            mutate(mutated)
        except (KeyError, StopIteration, TypeError, ValueError) as e:
            problems.append(f"mutation '{description}' does not apply to this template: {e!r}")
            continue
        failed = check(mutated).rules_failed()
        if rule not in failed:
            problems.append(f"rule {rule} accepted a template with {description}")
        elif failed != {rule}:
            problems.append(f"{description}: expected only {rule} to fail, got {sorted(failed)}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    path = argv[1]
    template = load(path)
    report = check(template)
    for failure in report.failures:
        print(f"{path}: {failure.rule}: {failure.message}", file=sys.stderr)
    if report.failures:
        return 1
    for rule in RULES:
        print(f"ok  {rule}")
    problems = self_test(template)
    for problem in problems:
        print(f"{path}: self-test: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"ok  self-test: {len(MUTATIONS)} mutated copies, each rejected by its rule")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
