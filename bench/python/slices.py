"""Python contender of protoland-transcode's throughput bench (transcoding
alone; convert.py is the whole pipeline's): Google's protobuf package (the
upb backend) parsing each message and printing it with
`json_format.MessageToJson` (compact, encoded to UTF-8 as a writer would),
timed here, slice by slice, on the bytes the bench hands over.

    python slices.py DESCRIPTOR_SET MESSAGE FRAMED_FILE

FRAMED_FILE holds the bench's messages, varint-delimited. The script loads
them, prints `ready COUNT`, then answers each line `LO HI` (message indices,
HI exclusive) with `NANOSECONDS JSON_BYTES` for transcoding messages LO..HI;
only the transcoding is timed, not the pipe. It ends at end of input.
"""

import sys
import time

from convert import frames, message_class
from google.protobuf import json_format
from google.protobuf.internal import api_implementation


def main():
    descriptor_set, name, path = sys.argv[1:4]
    cls = message_class(descriptor_set, name)
    with open(path, "rb") as f:
        messages = list(frames(f))
    print(f"protobuf backend: {api_implementation.Type()}", file=sys.stderr)
    print(f"ready {len(messages)}", flush=True)
    msg = cls()
    for line in sys.stdin:
        lo, hi = map(int, line.split())
        json_bytes = 0
        start = time.perf_counter_ns()
        for frame in messages[lo:hi]:
            msg.ParseFromString(frame)
            json_bytes += len(json_format.MessageToJson(msg, indent=None).encode())
        elapsed = time.perf_counter_ns() - start
        print(f"{elapsed} {json_bytes}", flush=True)


if __name__ == "__main__":
    main()
