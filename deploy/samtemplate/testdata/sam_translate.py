"""Translates a SAM template with AWS's own SAM translator (aws-sam-translator,
the library `sam build`/`sam deploy` and CloudFormation's transform use) and
prints the CloudFormation JSON it produces. Exit 1 with the translator's
messages when it refuses the template.

usage: python3 sam_translate.py TEMPLATE.yaml > translated.json
"""
import json
import os
import sys

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template names no managed policy (least privilege is inline), so
    nothing is looked up in IAM; a name would fail translation here."""

    def load(self):
        return {}


def package(template):
    """Does what `sam package` does before the translator sees a template:
    every local CodeUri becomes the S3 URI of the uploaded artifact."""
    for rid, res in template.get("Resources", {}).items():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str) \
                and not props["CodeUri"].startswith("s3://"):
            props["CodeUri"] = "s3://artifacts-bucket/jobs-api/" + rid + ".zip"


def main(path):
    with open(path) as f:
        template = yaml_parse(f.read())
    package(template)
    try:
        # The translator asks boto3 for a region (pseudo parameters); no
        # AWS call is made. The template's own parameters stay references.
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        out = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print("sam-translator: " + cause.message, file=sys.stderr)
        return 1
    json.dump(out, sys.stdout, indent=1, sort_keys=True, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
