#!/usr/bin/env python3
"""Differential test cases for protoland's transcoder, with Google's answers.

Reads a FileDescriptorSet (written by the Rust test from the corpus in
testdata/schemas) and a list of message types, builds Google's Python
classes for them, and writes JSON lines: one header, then one record per
encoded message:

    {"type": "protoland.test.proto3.Scalars", "case": "mutated:shuffle@0",
     "wire": "<hex>", "parse_error": null,
     "json": [{"ok": "<json text>"} | {"error": "<message>"}, ... 8 entries]}

`json[i]` is json_format's output with the options whose bits are set in i:
1 = preserving_proto_field_name, 2 = always_print_fields_with_no_presence,
4 = use_integers_for_enums. When Google's parser rejects the bytes,
`parse_error` holds its message and `json` is absent.

Three sections: a sweep of every edge value through every scalar field of
the sweep types (independent of the seed), nesting at the depth limit, and
`--count` records drawn from `--seed` (random messages, wire-level variants
of them, and invalid inputs). Record i of the seeded section depends only on
(seed, i), so a failure replays with the same seed and count.

Usage: generate.py --descriptor-set SET --types FILE --seed N --count N --out FILE
"""

import argparse
import json
import os
import random
import sys

# Run from the source tree: no __pycache__ next to the scripts.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from google.protobuf import __version__ as protobuf_version  # noqa: E402
from google.protobuf import descriptor_pb2, descriptor_pool, json_format  # noqa: E402
from google.protobuf import message_factory  # noqa: E402
from google.protobuf.internal import api_implementation  # noqa: E402
# Google's own well-known types first, so the default pool (the one
# json_format resolves Any type URLs in) holds them with their helpers.
from google.protobuf import any_pb2, duration_pb2, empty_pb2  # noqa: E402,F401
from google.protobuf import field_mask_pb2, struct_pb2, timestamp_pb2  # noqa: E402,F401
from google.protobuf import wrappers_pb2  # noqa: E402,F401

import fill  # noqa: E402
import mutate  # noqa: E402
import values as V  # noqa: E402
import wire as W  # noqa: E402

# Types whose every scalar field gets every edge value in the sweep.
SWEEP_TYPES = [
    'protoland.test.proto3.Scalars',
    'protoland.test.proto3.Optionals',
    'protoland.test.proto3.Repeateds',
    'protoland.test.proto2.Defaults',
    'protoland.test.proto2.Repeated2',
    'protoland.test.maps.Keys',
    'protoland.test.editions.Explicit',
    'protoland.test.editions.Implicit',
]


def load_pool(path):
    pool = descriptor_pool.Default()
    with open(path, 'rb') as f:
        files = descriptor_pb2.FileDescriptorSet.FromString(f.read()).file
    for file in files:
        try:
            pool.FindFileByName(file.name)
            continue
        except KeyError:
            pass
        pool.Add(file)
    return pool


def message_class(pool, name):
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def describe(error):
    return '%s: %s' % (type(error).__name__, error)


class Writer(object):

    def __init__(self, pool, out):
        self.pool = pool
        self.out = out
        self.records = 0
        self.parse_errors = 0
        self.print_errors = 0

    def record(self, type_name, case, data):
        message = message_class(self.pool, type_name)()
        record = {'type': type_name, 'case': case, 'wire': data.hex(),
                  'parse_error': None}
        try:
            message.ParseFromString(data)
        except Exception as e:  # noqa: BLE001 - every parse failure is an expectation
            record['parse_error'] = describe(e)
            self.parse_errors += 1
        else:
            outputs = []
            for options in range(8):
                try:
                    js = json_format.MessageToDict(
                        message,
                        preserving_proto_field_name=bool(options & 1),
                        always_print_fields_with_no_presence=bool(options & 2),
                        use_integers_for_enums=bool(options & 4))
                    outputs.append({'ok': json.dumps(js)})
                except Exception as e:  # noqa: BLE001 - printing errors are expectations too
                    outputs.append({'error': describe(e)})
                    self.print_errors += 1
            record['json'] = outputs
        self.out.write(json.dumps(record) + '\n')
        self.records += 1


# -- section 1: the sweep ---------------------------------------------------

def sweep(writer, pool, types):
    for type_name in SWEEP_TYPES:
        if type_name not in types:
            continue
        cls = message_class(pool, type_name)
        for field in cls.DESCRIPTOR.fields:
            if fill.is_map(field):
                key = field.message_type.fields_by_name['key']
                value = field.message_type.fields_by_name['value']
                message = cls()
                target = getattr(message, field.name)
                for i, k in enumerate(V.sweep_values(key)):
                    target[k] = V.random_scalar(random.Random(i), value)
                writer.record(type_name, 'sweep:' + field.name,
                              message.SerializePartialToString(deterministic=True))
                continue
            if fill.is_message(field):
                continue
            edge = V.sweep_values(field)
            if field.is_repeated:
                message = cls()
                getattr(message, field.name).extend(edge)
                writer.record(type_name, 'sweep:' + field.name,
                              message.SerializePartialToString(deterministic=True))
                continue
            for value in edge:
                message = cls()
                setattr(message, field.name, value)
                writer.record(type_name, 'sweep:%s=%r' % (field.name, value),
                              message.SerializePartialToString(deterministic=True))
    for type_name in sorted(fill.WRAPPERS):
        if type_name not in types:
            continue
        cls = message_class(pool, type_name)
        for value in V.sweep_values(cls.DESCRIPTOR.fields_by_name['value']):
            writer.record(type_name, 'sweep:%r' % (value,),
                          cls(value=value).SerializePartialToString())
    if 'google.protobuf.Timestamp' in types:
        for seconds in V.TS_SECONDS + [V.TS_SECONDS_MIN - 1, V.TS_SECONDS_MAX + 1]:
            for nanos in V.NANOS[:6]:
                data = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos).SerializeToString()
                writer.record('google.protobuf.Timestamp',
                              'sweep:%d.%09d' % (seconds, nanos), data)
    if 'google.protobuf.Duration' in types:
        for seconds in V.DUR_SECONDS + [V.DUR_SECONDS_MAX + 1]:
            for nanos in V.NANOS[:6]:
                sign = -1 if seconds < 0 else 1
                data = duration_pb2.Duration(seconds=seconds, nanos=sign * nanos).SerializeToString()
                writer.record('google.protobuf.Duration',
                              'sweep:%d.%09d' % (seconds, nanos), data)
        for seconds, nanos in [(0, -1), (0, -999999999), (0, -500000000),
                               (1, -1), (-1, 1), (0, 1000000000)]:
            data = duration_pb2.Duration(seconds=seconds, nanos=nanos).SerializeToString()
            writer.record('google.protobuf.Duration', 'sweep:%d,%d' % (seconds, nanos), data)
    if 'google.protobuf.FieldMask' in types:
        for path in V.FIELD_MASK_PATHS:
            data = field_mask_pb2.FieldMask(paths=[path]).SerializeToString()
            writer.record('google.protobuf.FieldMask', 'sweep:%r' % path, data)


# -- section 2: nesting at the depth limit ----------------------------------

def nest(depth, wrap, leaf=b''):
    data = leaf
    for _ in range(depth):
        data = wrap(data)
    return data


def depth_cases(writer, types):
    cases = {
        # Node.next: one message level per step.
        'protoland.test.proto3.Node': lambda d: nest(d, lambda b: W.len_field(1, b), b'\x10\x07'),
        # Tree.children: repeated message field.
        'protoland.test.proto3.Tree': lambda d: nest(d, lambda b: W.len_field(2, b)),
        # Deep: a group level and a message level per step.
        'protoland.test.proto2.Deep': lambda d: nest(
            d // 2, lambda b: W.group_field(1, W.len_field(2, b)),
            W.group_field(1, b'') if d % 2 else b''),
        # Mixed.recursive: an editions DELIMITED field, a group per step.
        'protoland.test.editions.Mixed': lambda d: nest(d, lambda b: W.group_field(22, b)),
        # ListValue -> Value -> ListValue ...: two levels per step.
        'google.protobuf.ListValue': lambda d: nest(
            d // 2, lambda b: W.len_field(1, W.len_field(6, b)),
            W.len_field(1, b'') if d % 2 else b''),
    }
    for type_name, build in sorted(cases.items()):
        if type_name not in types:
            continue
        for depth in [2, 50, 98, 99, 100, 101, 102, 103, 150]:
            writer.record(type_name, 'depth:%d' % depth, build(depth))
    # Any inside Any, through a user message: Google parses each Any's
    # payload on its own when printing.
    if 'protoland.test.wkt.Envelope' in types:
        url = b'type.googleapis.com/protoland.test.wkt.Envelope'
        for depth in [1, 10, 49, 50, 51, 99, 100, 101, 120]:
            data = b'\x0a\x01x'
            for _ in range(depth):
                data = W.len_field(2, W.len_field(1, url) + W.len_field(2, data))
            writer.record('protoland.test.wkt.Envelope', 'depth_any:%d' % depth, data)


# -- section 2b: MessageSet items --------------------------------------------

def message_set_cases(writer, pool, types):
    """Items of every shape, one per case, in the MessageSet types of
    testdata/schemas/messageset (what Google prints for each is what
    protoland must print)."""
    ms = 'protoland.test.messageset.'
    if ms + 'Set' not in types:
        return
    item = mutate.item
    item_cls = message_class(pool, ms + 'Item')
    it = item_cls(name='a', n=5).SerializeToString()
    it2 = item_cls(n=9, closed=[1, 2]).SerializeToString()
    other = message_class(pool, ms + 'Other')(v=[1, 2]).SerializeToString()
    deep = lambda d: nest(d, lambda b: W.len_field(1, b), b'\x10\x01')  # noqa: E731
    v = W.varint
    cases = {
        'one': item(1000, it),
        'message_first': item(1000, it, order=('message', 'type_id')),
        'unknown_type_id': item(5555, it),
        'unknown_type_id_garbage': item(5555, b'\x0f\xff'),
        'two_items_replace': item(1000, it) + item(1000, it2),
        'two_extensions': item(1001, other) + item(1000, it),
        'bad_payload': item(1000, b'\x0a\xff'),
        'payload_wire_type_7': item(1000, b'\x0f'),
        'no_message': item(1000, None),
        'no_type_id': item(None, it),
        'empty_item': item(None, None),
        'type_id_twice': item(1001, it, extra=[W.tag(2, W.VARINT) + v(1000)]),
        'message_twice': item(1000, it, extra=[W.len_field(3, it2)]),
        'message_twice_second_bad': item(1000, it, extra=[W.len_field(3, b'\x0f')]),
        'extra_fields': item(1000, it, extra=[W.tag(4, W.VARINT) + v(9),
                                              W.group_field(5, W.tag(6, W.VARINT) + v(1)),
                                              W.tag(2, W.LEN) + v(1) + b'\x01']),
        'field_zero_in_item': item(1000, it, extra=[W.tag(0, W.VARINT) + v(1)]),
        'plain_extension': W.len_field(1000, it),
        'plain_then_item': W.len_field(1000, it) + item(1000, it2),
        'item_then_plain': item(1000, it) + W.len_field(1000, it2),
        'plain_bad_then_item': W.len_field(1000, b'\x0f') + item(1000, it2),
        'replaced_bad_item': item(1000, b'\x0a\x01\xff' + b'\x0f') + item(1000, it2),
        'type_id_0': item(0, it),
        'type_id_2^31': item(1 << 31, it),
        'type_id_2^32+1000': item((1 << 32) + 1000, it),
        'type_id_10_bytes': item(W.padded_varint(1000, 10), it),
        'type_id_11_bytes': item(b'\xe8\x87' + b'\x80' * 8 + b'\x00', it),
        'type_id_max_field': item(536870911, b''),
        'group_end_mismatch': W.tag(1, W.SGROUP) + W.tag(2, W.VARINT) + v(1000)
        + W.len_field(3, it) + W.tag(2, W.EGROUP),
        'unterminated': W.tag(1, W.SGROUP) + W.tag(2, W.VARINT) + v(1000) + W.len_field(3, it),
        'item_as_len_field': W.len_field(1, W.tag(2, W.VARINT) + v(1000) + W.len_field(3, it)),
        'item_as_varint': W.tag(1, W.VARINT) + v(3),
        'scalars_bad_utf8': item(2000, W.len_field(14, b'\xff')),
        'scalars_ok': item(2000, W.len_field(14, b'ok') + W.tag(1, W.VARINT) + v(3)),
        'groups_extension': item(2001, W.group_field(1, W.tag(3, W.VARINT) + v(4))),
        'nothing': item(536870911, b'') + item(536870911, b'\x08\x01'),
        'other_holding_a_set': item(1001, W.len_field(2, item(1000, it))),
    }
    for depth in [97, 98, 99, 100, 101]:
        cases['deep:%d' % depth] = item(1002, deep(depth))
    for name, data in cases.items():
        writer.record(ms + 'Set', 'message_set:' + name, data)
    holder = {
        'singular': W.len_field(1, item(1000, it)),
        'merged_occurrences': W.len_field(1, item(1000, it) + item(1001, other))
        + W.len_field(1, item(1000, it2)),
        'merged_plain': W.len_field(1, item(1000, it)) + W.len_field(1, W.len_field(1000, it2)),
        'repeated': W.len_field(2, item(1001, other)) + W.len_field(2, b'')
        + W.len_field(2, item(1000, it) + item(7, b'')),
        'map_value': W.len_field(3, W.len_field(1, b'k') + W.len_field(2, item(1000, it))),
        'oneof': W.len_field(4, item(1000, it)) + W.tag(6, W.VARINT) + v(1),
        'oneof_replaced': W.len_field(4, item(1000, b'\x0f')) + W.len_field(5, b'x'),
        'out_of_order': W.tag(6, W.VARINT) + v(2) + W.len_field(1, item(1000, it)),
    }
    for depth in [96, 97, 98, 99]:
        holder['deep:%d' % depth] = W.len_field(1, item(1002, deep(depth)))
    for name, data in holder.items():
        writer.record(ms + 'Holder', 'message_set:' + name, data)
    if 'protoland.test.wkt.Envelope' in types:
        url = b'type.googleapis.com/' + (ms + 'Set').encode()
        for name, payload in [('any', item(1000, it) + item(5555, b'')),
                              ('any_bad', item(1000, b'\x0f'))]:
            data = W.len_field(2, W.len_field(1, url) + W.len_field(2, payload))
            writer.record('protoland.test.wkt.Envelope', 'message_set:' + name, data)


# -- section 3: seeded records ------------------------------------------------

def seeded(writer, pool, types, seed, count):
    any_types = sorted(t for t in types if not t.startswith('google.protobuf.'))
    for index in range(count):
        rng = random.Random('%s:%d' % (seed, index))
        type_name = types[index % len(types)]
        filler = fill.Filler(rng, pool, any_types)
        message = filler.fill(filler.new(type_name))
        data = message.SerializePartialToString(deterministic=True)
        kind = rng.random()
        if kind < 0.3:
            writer.record(type_name, 'random', data)
            continue
        mutator = mutate.Mutator(rng, pool, filler)
        descriptor = pool.FindMessageTypeByName(type_name)
        if kind < 0.8:
            data = mutator.mutate(descriptor, data)
            writer.record(type_name, 'mutated:' + ','.join(mutator.applied), data)
        else:
            data = mutator.mutate(descriptor, data, invalid=True)
            writer.record(type_name, 'invalid:' + ','.join(mutator.applied), data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--descriptor-set', required=True)
    parser.add_argument('--types', required=True,
                        help='file with one fully-qualified message type per line')
    parser.add_argument('--seed', required=True)
    parser.add_argument('--count', type=int, required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--no-sweep', action='store_true',
                        help='only the seeded records (for quick replays)')
    args = parser.parse_args()

    pool = load_pool(args.descriptor_set)
    with open(args.types) as f:
        types = [line.strip() for line in f if line.strip()]
    for name in types:
        pool.FindMessageTypeByName(name)  # fail early on a name Python lacks

    with open(args.out, 'w') as out:
        header = {'generator': 'testdata/differential/generate.py',
                  'protobuf': protobuf_version,
                  'implementation': api_implementation.Type(),
                  'seed': args.seed, 'count': args.count}
        out.write(json.dumps({'header': header}) + '\n')
        writer = Writer(pool, out)
        if not args.no_sweep:
            sweep(writer, pool, set(types))
            depth_cases(writer, set(types))
            message_set_cases(writer, pool, set(types))
        seeded(writer, pool, types, args.seed, args.count)
    sys.stderr.write('generate.py: %d records (%d parse errors, %d print errors)\n'
                     % (writer.records, writer.parse_errors, writer.print_errors))


if __name__ == '__main__':
    main()
