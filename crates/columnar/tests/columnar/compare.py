#!/usr/bin/env python3
"""Compares Parquet rows written by protoland's columnar crate with Google's
json_format under the documented mapping (docs/parquet.md).

Reads a manifest (JSON) written by the Rust test: the descriptor set, the
options of the mapping, and per Parquet file the message type, the JSON
options and the wire bytes (hex) of each row. Each file is read back with
pyarrow and with DuckDB; each row is compared with what the mapping makes
of `json_format.MessageToDict` for the message Google's protobuf parses
from the same bytes. Prints one line per mismatch (at most a few per file)
and a summary; exits 1 when anything differs.

Usage: compare.py MANIFEST
"""

import base64
import datetime
import decimal
import json
import math
import os
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '../../../../testdata/differential'))

import duckdb  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from google.protobuf.descriptor import FieldDescriptor as FD  # noqa: E402

from generate import load_pool, message_class  # noqa: E402

AS_TEXT = {'google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue',
           'google.protobuf.Any', 'google.protobuf.Empty'}
AS_STRING = {'google.protobuf.Duration', 'google.protobuf.FieldMask'}
WRAPPERS = {'google.protobuf.%s' % n for n in (
    'DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value',
    'BoolValue', 'StringValue', 'BytesValue')}
INT32 = {FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32}
INT64 = {FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64, FD.TYPE_UINT32, FD.TYPE_FIXED32}
UINT64 = {FD.TYPE_UINT64, FD.TYPE_FIXED64}
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class Mapping(object):
    """The documented mapping, applied to MessageToDict's output."""

    def __init__(self, proto_names, enum_numbers, max_depth, timestamps):
        self.proto_names = proto_names
        self.enum_numbers = enum_numbers
        self.max_depth = max_depth
        self.timestamps = timestamps

    def name(self, f):
        return f.name if self.proto_names else f.json_name

    def row(self, desc, d, ancestors):
        ancestors = ancestors + [desc.full_name]
        return {self.name(f): self.field(f, d.get(self.name(f), MISSING), ancestors)
                for f in sorted(desc.fields, key=lambda f: f.number)}

    def field(self, f, v, ancestors):
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            key_f = f.message_type.fields_by_number[1]
            val_f = f.message_type.fields_by_number[2]
            items = {} if v is MISSING else v
            return ('map', [(self.key(key_f, k), self.value(val_f, x, ancestors))
                            for k, x in items.items()])
        if f.is_repeated:
            return [] if v is MISSING else [self.value(f, x, ancestors) for x in v]
        if v is MISSING:
            return None if f.has_presence else self.default(f)
        return self.value(f, v, ancestors)

    def key(self, f, k):
        # JSON map keys are strings.
        if f.type == FD.TYPE_BOOL:
            return k == 'true'
        if f.type == FD.TYPE_STRING:
            return k
        return self.value(f, int(k), [])

    def default(self, f):
        if f.type == FD.TYPE_ENUM:
            first = f.enum_type.values[0]
            return first.number if self.enum_numbers else first.name
        return self.scalar(f, {FD.TYPE_STRING: '', FD.TYPE_BYTES: '',
                               FD.TYPE_BOOL: False}.get(f.type, 0))

    def value(self, f, v, ancestors):
        m = f.message_type
        if m is None:
            if f.type == FD.TYPE_ENUM:
                if f.enum_type.full_name == 'google.protobuf.NullValue':
                    return 0 if self.enum_numbers else 'NULL_VALUE'
                if self.enum_numbers:
                    return int(v)
                return v if isinstance(v, str) else str(v)
            return self.scalar(f, v)
        name = m.full_name
        if name == 'google.protobuf.Timestamp':
            return v if self.timestamps == 'text' else ('ts', micros(v))
        if name in AS_STRING:
            return v
        if name in AS_TEXT:
            return ('json', v)
        if name in WRAPPERS:
            return self.scalar(m.fields_by_number[1], v)
        if not m.fields or ancestors.count(name) >= self.max_depth:
            return ('json', v)
        return self.row(m, v, ancestors)

    def scalar(self, f, v):
        t = f.type
        if t in INT32 or t in INT64:
            return int(v)
        if t in UINT64:
            return ('dec', int(v))
        if t == FD.TYPE_FLOAT:
            return ('f32', float(v))
        if t == FD.TYPE_DOUBLE:
            return ('f64', float(v))
        if t == FD.TYPE_BYTES:
            return base64.b64decode(v)
        return v


class Missing(object):
    pass


MISSING = Missing()


def micros(text):
    """RFC 3339 (as json_format prints: UTC, 0/3/6/9 digits) → µs, truncated."""
    date, _, frac = text.rstrip('Z').partition('.')
    dt = datetime.datetime.strptime(date, '%Y-%m-%dT%H:%M:%S').replace(
        tzinfo=datetime.timezone.utc)
    whole = (dt - EPOCH) // datetime.timedelta(microseconds=1)
    return whole + int((frac + '000000')[:6]) if frac else whole


def got_micros(v):
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return (v - EPOCH) // datetime.timedelta(microseconds=1)
    return v


def same(expected, got, path, out):
    """Appends a description of each difference under `path` to `out`."""
    if isinstance(expected, tuple):
        tag, e = expected
        if tag == 'map':
            pairs = map_pairs(got)
            if pairs is None or len(pairs) != len(e):
                out.append('%s: map %r vs %r' % (path, e, got))
                return
            by_key = {}
            for k, x in pairs:
                by_key[repr(norm_key(k))] = x
            for k, x in e:
                kk = repr(norm_key(k))
                if kk not in by_key:
                    out.append('%s: key %r missing from %r' % (path, k, got))
                    continue
                same(x, by_key[kk], '%s[%s]' % (path, kk), out)
            return
        if tag == 'json':
            try:
                ok = json.loads(got) == e
            except (TypeError, ValueError):
                ok = False
            if not ok:
                out.append('%s: json %r vs %r' % (path, e, got))
            return
        if tag == 'dec':
            if not isinstance(got, (int, decimal.Decimal)) or int(got) != e:
                out.append('%s: %r vs %r' % (path, e, got))
            return
        if tag == 'ts':
            if got_micros(got) != e:
                out.append('%s: %r µs vs %r' % (path, e, got))
            return
        if tag in ('f32', 'f64'):
            fmt = '<f' if tag == 'f32' else '<d'
            if not isinstance(got, float) or not (
                    (math.isnan(e) and math.isnan(got))
                    or struct.pack(fmt, e) == struct.pack(fmt, got)):
                out.append('%s: %r vs %r' % (path, e, got))
            return
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            out.append('%s: struct %r vs %r' % (path, expected, got))
            return
        for k in expected:
            same(expected[k], got[k], '%s.%s' % (path, k), out)
        return
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            out.append('%s: list %r vs %r' % (path, expected, got))
            return
        for i, (e, g) in enumerate(zip(expected, got)):
            same(e, g, '%s[%d]' % (path, i), out)
        return
    if isinstance(expected, bool) or isinstance(got, bool):
        if expected is not got:
            out.append('%s: %r vs %r' % (path, expected, got))
        return
    if expected != got or type(expected) is not type(got):
        out.append('%s: %r vs %r' % (path, expected, got))


def norm_key(k):
    if isinstance(k, tuple):
        return k[1]
    if isinstance(k, decimal.Decimal):
        return int(k)
    return k


def map_pairs(got):
    """A map as each reader returns it: pyarrow a list of (key, value)
    pairs, DuckDB a dict (or key and value lists)."""
    if isinstance(got, list):
        return [tuple(p) for p in got]
    if isinstance(got, dict):
        if set(got) == {'key', 'value'} and isinstance(got['key'], list):
            return list(zip(got['key'], got['value']))
        return list(got.items())
    return None


def pyarrow_rows(path):
    return pq.read_table(path).to_pylist()


def duckdb_rows(path):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rel = con.execute('SELECT * FROM read_parquet(?)', [path])
    names = [d[0] for d in rel.description]
    return [dict(zip(names, row)) for row in rel.fetchall()]


def main():
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    pool = load_pool(manifest['descriptor_set'])
    mismatches = 0
    rows = 0
    for entry in manifest['files']:
        cls = message_class(pool, entry['type'])
        mapping = Mapping(entry['proto_names'], entry['enum_numbers'],
                          manifest['max_depth'], manifest['timestamps'])
        expected = []
        for hexed in entry['wires']:
            message = cls()
            message.ParseFromString(bytes.fromhex(hexed))
            d = json_format.MessageToDict(
                message, preserving_proto_field_name=entry['proto_names'],
                use_integers_for_enums=entry['enum_numbers'])
            expected.append(mapping.row(cls.DESCRIPTOR, d, []))
        for reader, read in (('pyarrow', pyarrow_rows), ('duckdb', duckdb_rows)):
            got = read(entry['file'])
            said = 0
            if len(got) != len(expected):
                print('%s %s: %d rows, expected %d' % (reader, entry['type'], len(got),
                                                       len(expected)))
                mismatches += 1
                continue
            for i, (e, g) in enumerate(zip(expected, got)):
                rows += 1
                diffs = []
                same(e, g, '$', diffs)
                if diffs:
                    mismatches += 1
                    if said < 3:
                        said += 1
                        print('%s %s (proto_names=%s enum_numbers=%s) row %d wire %s: %s' % (
                            reader, entry['type'], entry['proto_names'], entry['enum_numbers'],
                            i, entry['wires'][i], '; '.join(diffs[:3])))
    print('compare.py: %d rows of %d files compared with pyarrow and DuckDB, %d mismatches'
          % (rows, len(manifest['files']), mismatches))
    sys.exit(1 if mismatches else 0)


if __name__ == '__main__':
    main()
