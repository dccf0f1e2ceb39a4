"""The Python Lambda for Parquet that protoland's Parquet output replaces:
the object -> gunzip -> varint-delimited frames -> Google's protobuf
messages -> Arrow columns with protarrow -> a zstd-compressed Parquet file.

The same job as `protoland backfill --output-format parquet` on one object
(read from and landed to local files, like lambda_function.py's local run),
with protarrow's mapping set as close to protoland's as its settings go:
enums as their names, Timestamps as microseconds in UTC.

    python parquet_function.py DESCRIPTOR_SET MESSAGE OBJECT LANDING_DIR
"""

import gzip
import sys
from pathlib import Path

import protarrow
import pyarrow as pa
import pyarrow.parquet as pq

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.internal.decoder import _DecodeVarint32

# Rows converted and written at a time, so that memory stays bounded the way
# protoland's row groups keep it.
ROWS_PER_GROUP = 100_000


def message_class(descriptor_set_path, name):
    """The message class, in the default pool: protarrow recognises the
    well-known types (Timestamp) by their descriptors there."""
    fds = descriptor_pb2.FileDescriptorSet()
    with open(descriptor_set_path, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.Default()
    for fd in fds.file:
        if not fd.name.startswith("google/protobuf/"):
            pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def messages(cls, data):
    pos = 0
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        msg = cls()
        msg.ParseFromString(data[pos : pos + size])
        yield msg
        pos += size


def land(cls, body, target):
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    config = protarrow.ProtarrowConfig(
        enum_type=pa.string(), timestamp_type=pa.timestamp("us", tz="UTC")
    )
    schema = protarrow.message_type_to_schema(cls, config)
    rows = []
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        for msg in messages(cls, body):
            rows.append(msg)
            if len(rows) == ROWS_PER_GROUP:
                writer.write_table(protarrow.messages_to_table(rows, cls, config))
                rows = []
        if rows:
            writer.write_table(protarrow.messages_to_table(rows, cls, config))


def main():
    descriptor_set, name, path, landing = sys.argv[1:5]
    cls = message_class(descriptor_set, name)
    source = Path(path)
    out_key = source.name.removesuffix(".gz").removesuffix(".pb") + ".parquet"
    target = Path(landing) / out_key
    target.parent.mkdir(parents=True, exist_ok=True)
    land(cls, source.read_bytes(), target)


if __name__ == "__main__":
    main()
