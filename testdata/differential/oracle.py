#!/usr/bin/env python3
"""What Google's json_format prints for one encoded message, with each of
the 8 option sets: for looking at a single mismatch of the differential
test by hand.

Usage: oracle.py DESCRIPTOR_SET TYPE HEX

DESCRIPTOR_SET is the corpus as the differential test writes it next to the
records when PROTOLAND_DIFF_KEEP=FILE is set (FILE.binpb); TYPE a
fully-qualified message name; HEX the wire bytes (the "wire:" line of a
failure report).
"""

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import generate  # noqa: E402

OPTIONS = ['default', 'proto_names', 'emit_defaults', 'proto_names+emit_defaults',
           'enum_numbers', 'proto_names+enum_numbers', 'emit_defaults+enum_numbers',
           'proto_names+emit_defaults+enum_numbers']


class Collect(object):
    def __init__(self):
        self.lines = []

    def write(self, text):
        self.lines.append(text)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    set_path, type_name, wire = sys.argv[1:]
    pool = generate.load_pool(set_path)
    out = Collect()
    generate.Writer(pool, out).record(type_name, 'oracle', bytes.fromhex(wire))
    record = json.loads(out.lines[0])
    if record['parse_error']:
        print('parse error: ' + record['parse_error'])
        return
    for name, entry in zip(OPTIONS, record['json']):
        print('%-40s %s' % (name, entry.get('ok') or 'error: ' + entry['error']))


if __name__ == '__main__':
    main()
