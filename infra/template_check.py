#!/usr/bin/env python3
"""Lints template.yaml as CloudFormation will see it.

cfn-lint (1.x) does not run the SAM transform: it merges `Globals` and checks the
`AWS::Serverless::*` resources against SAM's own schemas, so the rules written for the resources
SAM generates never look at them — E3505 (an SQS queue's visibility timeout shorter than the
timeout of the function it feeds), for one, needs the `AWS::Lambda::EventSourceMapping` that only
the transform creates. This script therefore:

1. lints the SAM template as it is (what cfn-lint can say about it);
2. transforms it with `samtranslator` (the library CloudFormation's SAM transform is built on)
   and lints the result, written to target/template.transformed.json;
3. proves step 2 can fail: a copy whose job queue's visibility timeout is shorter than the
   worker's timeout must be reported as E3505.

Usage: infra/template_check.py [TEMPLATE] (run with the Python that has cfn-lint and
aws-sam-translator, e.g. .venv/bin/python). Exits non-zero on any finding.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent
CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def transform(sam: dict) -> dict:
    """The CloudFormation template SAM makes of `sam`, with the parameters' defaults."""
    sam = copy.deepcopy(sam)
    # As `sam package` does: local code becomes an S3 object (a placeholder; nothing is uploaded).
    for name, resource in sam.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://deskmate-template-check/{name}.zip"
    # The translator only needs a region for the pseudo parameters it fills in; nothing is called.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    translator = Translator(None, Parser(), metrics=metrics)
    # Every policy in the template is inline or an ARN, so no managed policy has to be looked up.
    cfn = translator.translate(sam, parameter_values={}, get_managed_policy_map=lambda: {})
    metrics.publish()  # to nowhere; it only keeps the translator from complaining at exit
    return cfn


def lint(path: Path) -> tuple[int, str]:
    run = subprocess.run(
        [str(CFN_LINT), "--format", "parseable", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return run.returncode, (run.stdout + run.stderr).strip()


def main() -> int:
    template = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "template.yaml"
    sam = yaml_parse(template.read_text())
    failed = False

    code, out = lint(template)
    print(f"cfn-lint {template.name} (SAM, untransformed): {'ok' if code == 0 else 'FAILED'}")
    if out:
        print(out)
    failed |= code != 0

    try:
        cfn = transform(sam)
    except Exception as err:  # the translator raises its own exception types, all fatal here
        print(f"SAM transform of {template.name} FAILED: {err}")
        return 1
    out_dir = ROOT / "target"
    out_dir.mkdir(exist_ok=True)
    transformed = out_dir / "template.transformed.json"
    transformed.write_text(json.dumps(cfn, indent=1, sort_keys=True))
    kinds: dict[str, int] = {}
    for resource in cfn["Resources"].values():
        kinds[resource["Type"]] = kinds.get(resource["Type"], 0) + 1
    code, out = lint(transformed)
    print(
        f"cfn-lint {transformed.relative_to(ROOT)} (after the SAM transform, "
        f"{len(cfn['Resources'])} resources): {'ok' if code == 0 else 'FAILED'}"
    )
    if out:
        print(out)
    failed |= code != 0

    # The canary: the same template with the job queue's visibility timeout below the worker's
    # timeout must not pass.
    broken = copy.deepcopy(sam)
    broken["Resources"]["JobQueue"]["Properties"]["VisibilityTimeout"] = 30
    with tempfile.TemporaryDirectory() as scratch:
        canary = Path(scratch) / "canary.json"
        canary.write_text(json.dumps(transform(broken)))
        code, out = lint(canary)
    if code != 0 and "E3505" in out:
        print("canary: a job queue visibility timeout (30 s) below the worker's timeout is reported (E3505)")
    else:
        print(f"canary FAILED: cfn-lint did not report E3505 on the transformed template\n{out}")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
