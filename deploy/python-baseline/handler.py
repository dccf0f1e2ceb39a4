"""The same job as protoland's Lambda, in Python: the size baseline.

deploy/python-baseline/build packages this file with Google's protobuf wheel
for manylinux aarch64 to measure what a Python deployment package of the
function weighs. It is a faithful but plain implementation (SQS -> S3
notification -> get -> gunzip -> varint frames -> json_format -> put), not a
supported alternative: no zstd, no streaming (the object and its JSON are held
in memory), no quarantine.

Environment: PROTOLAND_SCHEMA (path of a binary descriptor set in the
package), PROTOLAND_MESSAGE, PROTOLAND_LANDING (s3://bucket/prefix).
"""

import gzip
import json
import os
import re
import urllib.parse

import boto3  # provided by the Lambda Python runtime, not packaged
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

_s3 = boto3.client("s3")


def _message_class():
    pool = descriptor_pool.DescriptorPool()
    files = descriptor_pb2.FileDescriptorSet()
    with open(os.environ["PROTOLAND_SCHEMA"], "rb") as f:
        files.ParseFromString(f.read())
    for file in files.file:
        pool.Add(file)
    descriptor = pool.FindMessageTypeByName(os.environ["PROTOLAND_MESSAGE"])
    return message_factory.GetMessageClass(descriptor)


_MESSAGE = _message_class()
_LANDING = urllib.parse.urlparse(os.environ["PROTOLAND_LANDING"])


def _frames(data):
    """Length-delimited (varint) messages."""
    pos = 0
    while pos < len(data):
        size = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        yield data[pos : pos + size]
        pos += size


def to_ndjson(data):
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    lines = []
    for frame in _frames(data):
        message = _MESSAGE()
        message.ParseFromString(frame)
        lines.append(json_format.MessageToJson(message, indent=None))
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _landing_key(key):
    stem = re.sub(r"(\.(pb|bin|binpb))?(\.(gz|zst))?$", "", key)
    return _LANDING.path.lstrip("/") + stem + ".ndjson.gz"


def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            notification = json.loads(record["body"])
            for s3_record in notification.get("Records", []):
                bucket = s3_record["s3"]["bucket"]["name"]
                key = urllib.parse.unquote_plus(s3_record["s3"]["object"]["key"])
                body = _s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                _s3.put_object(
                    Bucket=_LANDING.netloc,
                    Key=_landing_key(key),
                    Body=gzip.compress(to_ndjson(body)),
                )
        except Exception:  # noqa: BLE001 - any failure fails only this message
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
