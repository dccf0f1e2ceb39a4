"""The Python Lambda that protoland replaces, for the package-size comparison:
SQS event -> S3 notification -> get the object -> gunzip -> varint-delimited
frames -> json_format -> put NDJSON in the landing bucket.

bench/run zips this handler with Google's protobuf wheel for aarch64 (boto3
comes with the Lambda Python runtime, so it is not packaged) and compares
the zip's size with protoland-lambda's. It is not run by the benchmark.
"""

import gzip
import json
import os
import urllib.parse

import boto3
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.internal.decoder import _DecodeVarint32

s3 = boto3.client("s3")


def _message_class():
    fds = descriptor_pb2.FileDescriptorSet()
    with open(os.environ.get("SCHEMA_FILE", "schema.binpb"), "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(os.environ["MESSAGE"]))


MESSAGE = _message_class()
LANDING = os.environ["LANDING_BUCKET"]


def convert(data):
    lines = []
    pos = 0
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        msg = MESSAGE()
        msg.ParseFromString(data[pos : pos + size])
        lines.append(json_format.MessageToJson(msg, indent=None))
        pos += size
    return ("\n".join(lines) + "\n").encode()


def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            for s3_record in json.loads(record["body"]).get("Records", []):
                bucket = s3_record["s3"]["bucket"]["name"]
                key = urllib.parse.unquote_plus(s3_record["s3"]["object"]["key"])
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                if body[:2] == b"\x1f\x8b":
                    body = gzip.decompress(body)
                out_key = key.removesuffix(".gz").removesuffix(".pb") + ".ndjson"
                s3.put_object(Bucket=LANDING, Key=out_key, Body=convert(body))
        except Exception:  # noqa: BLE001 - report the message as failed
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
