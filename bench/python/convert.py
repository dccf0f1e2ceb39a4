"""Python contender: gzip'd varint-delimited protobuf -> NDJSON, the way a
Python Lambda does it today.

    python convert.py DESCRIPTOR_SET MESSAGE FILE.gz > out.ndjson

Google's protobuf package (the upb backend), message classes built at run
time from a descriptor set (the same classes generated *_pb2 modules build
when imported), `gzip.open`, frames read with the protobuf runtime's own
varint decoder, `ParseFromString`, `json_format.MessageToJson` (compact, one
line per message). Prints the backend in use to stderr.
"""

import gzip
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.internal import api_implementation
from google.protobuf.internal.decoder import _DecodeVarint32

BLOCK = 1 << 20


def message_class(descriptor_set_path, name):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(descriptor_set_path, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def frames(stream):
    """Yields each varint-delimited frame of a binary stream."""
    buf = b""
    pos = 0
    eof = False
    while True:
        # Refill when the next length prefix or frame may cross the block end.
        if len(buf) - pos < 10 and not eof:
            more = stream.read(BLOCK)
            eof = not more
            buf = buf[pos:] + more
            pos = 0
        if pos == len(buf):
            return
        size, start = _DecodeVarint32(buf, pos)
        end = start + size
        while end > len(buf) and not eof:
            more = stream.read(max(BLOCK, end - len(buf)))
            eof = not more
            buf = buf[pos:] + more
            start -= pos
            end -= pos
            pos = 0
        if end > len(buf):
            raise ValueError(f"frame at byte {pos} is cut short")
        yield buf[start:end]
        pos = end


def main():
    descriptor_set, name, path = sys.argv[1:4]
    cls = message_class(descriptor_set, name)
    print(f"protobuf backend: {api_implementation.Type()}", file=sys.stderr)
    out = sys.stdout
    msg = cls()
    with gzip.open(path, "rb") as stream:
        for frame in frames(stream):
            msg.ParseFromString(frame)
            out.write(json_format.MessageToJson(msg, indent=None))
            out.write("\n")
    out.flush()


if __name__ == "__main__":
    main()
