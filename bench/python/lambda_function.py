"""The Python Lambda that protoland replaces: SQS event -> S3 notification ->
get the object -> gunzip -> varint-delimited frames -> json_format -> gzip'd
NDJSON (level 6, as protoland's default output) in the landing bucket.

bench/run uses it twice:

- zipped with Google's protobuf wheel for aarch64 (boto3 comes with the
  Lambda Python runtime, so it is not packaged), for the package-size
  comparison with protoland-lambda;
- run on a local file, for the deployed-path comparison with
  `protoland backfill`: the same conversion as the handler, the object read
  from and landed to local files instead of S3 (so neither side pays for
  network transfers):

      python lambda_function.py DESCRIPTOR_SET MESSAGE OBJECT LANDING_DIR
"""

import functools
import gzip
import json
import os
import sys
import urllib.parse
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.internal.decoder import _DecodeVarint32


def message_class(descriptor_set_path, name):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(descriptor_set_path, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def convert(cls, data):
    lines = []
    pos = 0
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        msg = cls()
        msg.ParseFromString(data[pos : pos + size])
        lines.append(json_format.MessageToJson(msg, indent=None))
        pos += size
    return ("\n".join(lines) + "\n").encode()


def land(cls, key, body):
    """The landing key and gzip'd NDJSON of one object."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    out_key = key.removesuffix(".gz").removesuffix(".pb") + ".ndjson.gz"
    return out_key, gzip.compress(convert(cls, body), compresslevel=6)


@functools.cache
def _function():
    """What the function sets up once per execution environment (on the
    first invocation, so that a local run never imports boto3)."""
    import boto3  # noqa: PLC0415 - part of the Lambda runtime

    cls = message_class(os.environ.get("SCHEMA_FILE", "schema.binpb"), os.environ["MESSAGE"])
    return boto3.client("s3"), cls, os.environ["LANDING_BUCKET"]


def handler(event, context):
    s3, cls, landing = _function()
    failures = []
    for record in event["Records"]:
        try:
            for s3_record in json.loads(record["body"]).get("Records", []):
                bucket = s3_record["s3"]["bucket"]["name"]
                key = urllib.parse.unquote_plus(s3_record["s3"]["object"]["key"])
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                out_key, out = land(cls, key, body)
                s3.put_object(Bucket=landing, Key=out_key, Body=out)
        except Exception:  # noqa: BLE001 - report the message as failed
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def main():
    descriptor_set, name, path, landing = sys.argv[1:5]
    cls = message_class(descriptor_set, name)
    source = Path(path)
    out_key, out = land(cls, source.name, source.read_bytes())
    target = Path(landing) / out_key
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(out)


if __name__ == "__main__":
    main()
