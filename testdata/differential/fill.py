"""Random messages, filled through Google's Python API.

`Filler.fill(message, depth)` sets a random subset of a message's fields
(oneof members, repeated fields, maps, extensions, nested messages) with
values drawn from the edge pools in values.py, and gives every well-known
type values that exercise its JSON form (including invalid ones, rarely,
so that Google's printing errors are part of the expectations too).
"""

from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor as FD

import values as V

MAX_DEPTH = 5

WRAPPERS = {
    'google.protobuf.DoubleValue': FD.TYPE_DOUBLE,
    'google.protobuf.FloatValue': FD.TYPE_FLOAT,
    'google.protobuf.Int64Value': FD.TYPE_INT64,
    'google.protobuf.UInt64Value': FD.TYPE_UINT64,
    'google.protobuf.Int32Value': FD.TYPE_INT32,
    'google.protobuf.UInt32Value': FD.TYPE_UINT32,
    'google.protobuf.BoolValue': FD.TYPE_BOOL,
    'google.protobuf.StringValue': FD.TYPE_STRING,
    'google.protobuf.BytesValue': FD.TYPE_BYTES,
}

WELL_KNOWN = sorted(list(WRAPPERS) + [
    'google.protobuf.Any', 'google.protobuf.Duration',
    'google.protobuf.Empty', 'google.protobuf.FieldMask',
    'google.protobuf.ListValue', 'google.protobuf.Struct',
    'google.protobuf.Timestamp', 'google.protobuf.Value',
])

ANY_PREFIXES = ['type.googleapis.com/'] * 6 + [
    'example.com/', 'https://example.com/types/', 'a/b/c/', '/', '']

# Type URLs at the edge of resolving: Google takes what follows the last '/'
# and looks it up as is.
ODD_URLS = [
    'type.googleapis.com/protoland.test.NoSuchType',
    'type.googleapis.com/',
    '',
    'type.googleapis.com/protoland.test.proto3.Nothing/',
    'type.googleapis.com/.protoland.test.proto3.Nothing',
    'type.googleapis.com/protoland.test.proto3.nothing',
    'type.googleapis.com/protoland.test.proto3.Nothing?v=1',
    ' type.googleapis.com/protoland.test.proto3.Nothing',
    'type.googleapis.com/protoland.test.proto3.Nothing ',
    'type.googleapis.com//protoland.test.proto3.Nothing',
    'type.googleapis.com/protoland.test.proto2.Groups.Single',
    'type.googleapis.com/protoland.test.maps.Keys.KInt32Entry',
    'type.googleapis.com/protoland.test.proto3.Color',
]


def is_synthetic_oneof(oneof):
    """proto3 `optional` fields sit in a one-member oneof named `_field`."""
    return len(oneof.fields) == 1 and oneof.name == '_' + oneof.fields[0].name


def is_map(field):
    return (field.type == FD.TYPE_MESSAGE and field.is_repeated
            and field.message_type.GetOptions().map_entry)


def is_message(field):
    return field.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP)


class Filler(object):

    def __init__(self, rng, pool, any_types):
        self.rng = rng
        self.pool = pool
        # User message types an Any may hold (well-known types are added).
        self.any_types = any_types

    def new(self, full_name):
        descriptor = self.pool.FindMessageTypeByName(full_name)
        return message_factory.GetMessageClass(descriptor)()

    def extensions_of(self, descriptor):
        if not descriptor.extension_ranges:
            return []
        found = self.pool.FindAllExtensions(descriptor)
        return sorted(found, key=lambda e: e.number)

    # -- one message --------------------------------------------------------

    def fill(self, message, depth=0):
        descriptor = message.DESCRIPTOR
        name = descriptor.full_name
        if name in WRAPPERS:
            return self.fill_wrapper(message)
        special = getattr(self, 'fill_' + name.rsplit('.', 1)[-1].lower(), None)
        if name.startswith('google.protobuf.') and special is not None:
            return special(message, depth)
        rng = self.rng
        # How likely each field is to be set: high near the root, lower deep
        # down so messages stay small.
        density = rng.choice([0.15, 0.4, 0.7, 1.0]) / (1 + depth)
        for oneof in descriptor.oneofs:
            if is_synthetic_oneof(oneof):
                continue
            if rng.random() < min(0.8, density * 2):
                self.set_field(message, rng.choice(oneof.fields), depth)
        for field in descriptor.fields:
            oneof = field.containing_oneof
            if oneof is not None and not is_synthetic_oneof(oneof):
                continue
            if rng.random() < density:
                self.set_field(message, field, depth)
        for extension in self.extensions_of(descriptor):
            if rng.random() < density:
                self.set_field(message, extension, depth)
        return message

    def set_field(self, message, field, depth):
        rng = self.rng
        if field.is_extension:
            container = message.Extensions
            key = field
        else:
            container = None
            key = field.name
        if is_map(field):
            if depth >= MAX_DEPTH and is_message(field.message_type.fields_by_name['value']):
                return
            target = getattr(message, key)
            key_field = field.message_type.fields_by_name['key']
            value_field = field.message_type.fields_by_name['value']
            for _ in range(rng.randint(0, 4)):
                map_key = V.random_scalar(rng, key_field)
                if is_message(value_field):
                    self.fill(target[map_key], depth + 1)
                else:
                    target[map_key] = self.scalar(value_field)
            return
        if field.is_repeated:
            target = container[key] if container is not None else getattr(message, key)
            count = rng.choice([0, 1, 1, 2, 3, 5])
            if is_message(field):
                if depth >= MAX_DEPTH:
                    return
                for _ in range(count):
                    self.fill(target.add(), depth + 1)
            else:
                for _ in range(count):
                    target.append(self.scalar(field))
            return
        if is_message(field):
            if depth >= MAX_DEPTH:
                return
            sub = container[key] if container is not None else getattr(message, key)
            sub.SetInParent()
            self.fill(sub, depth + 1)
            return
        value = self.scalar(field)
        if container is not None:
            container[key] = value
        else:
            setattr(message, key, value)

    def scalar(self, field):
        return V.random_scalar(self.rng, field)

    # -- well-known types ---------------------------------------------------

    def fill_wrapper(self, message, depth=0):
        field = message.DESCRIPTOR.fields_by_name['value']
        # An empty wrapper prints the default value ("0", "", false).
        if self.rng.random() < 0.85:
            message.value = self.scalar(field)
        return message

    def fill_timestamp(self, message, depth=0):
        rng = self.rng
        if rng.random() < 0.03:
            # Out of range: Google refuses to print it.
            message.seconds = rng.choice([V.TS_SECONDS_MIN - 1,
                                          V.TS_SECONDS_MAX + 1, V.I64_MIN,
                                          V.I64_MAX])
            message.nanos = rng.choice(V.NANOS)
        elif rng.random() < 0.03:
            message.seconds = rng.choice(V.TS_SECONDS)
            message.nanos = rng.choice([-1, 1000000000, V.I32_MIN, V.I32_MAX])
        else:
            if rng.random() < 0.6:
                message.seconds = rng.choice(V.TS_SECONDS)
            else:
                message.seconds = rng.randint(V.TS_SECONDS_MIN, V.TS_SECONDS_MAX)
            message.nanos = self.nanos()
        return message

    def nanos(self):
        rng = self.rng
        kind = rng.random()
        if kind < 0.5:
            return rng.choice(V.NANOS)
        if kind < 0.65:
            return rng.randint(0, 999) * 1000000
        if kind < 0.8:
            return rng.randint(0, 999999) * 1000
        return rng.randint(0, 999999999)

    def fill_duration(self, message, depth=0):
        rng = self.rng
        if rng.random() < 0.04:
            # Invalid: out of range, or seconds and nanos of opposite signs.
            seconds, nanos = rng.choice([
                (V.DUR_SECONDS_MAX + 1, 0), (-V.DUR_SECONDS_MAX - 1, 0),
                (1, -1), (-1, 1), (0, 1000000000), (0, -1000000000),
                (V.I64_MAX, 0)])
        else:
            if rng.random() < 0.6:
                seconds = rng.choice(V.DUR_SECONDS)
            else:
                seconds = rng.randint(-V.DUR_SECONDS_MAX, V.DUR_SECONDS_MAX)
            nanos = self.nanos()
            if seconds < 0 or (seconds == 0 and rng.random() < 0.5):
                nanos = -nanos
        message.seconds = seconds
        message.nanos = nanos
        return message

    def fill_fieldmask(self, message, depth=0):
        rng = self.rng
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            if rng.random() < 0.85:
                path = rng.choice(V.FIELD_MASK_PATHS[:7] + V.FIELD_MASK_PATHS[13:14])
            else:
                path = rng.choice(V.FIELD_MASK_PATHS)
            message.paths.append(path)
        return message

    def fill_empty(self, message, depth=0):
        return message

    def fill_struct(self, message, depth=0):
        rng = self.rng
        for _ in range(rng.randint(0, 4 if depth < MAX_DEPTH else 1)):
            key = rng.choice(V.STRING) if rng.random() < 0.5 else V.random_string(rng)
            self.fill_value(message.fields[key], depth + 1)
        return message

    def fill_listvalue(self, message, depth=0):
        for _ in range(self.rng.randint(0, 4 if depth < MAX_DEPTH else 1)):
            self.fill_value(message.values.add(), depth + 1)
        return message

    def fill_value(self, message, depth=0):
        rng = self.rng
        kinds = ['null', 'number', 'number', 'string', 'bool', 'unset']
        if depth < MAX_DEPTH:
            kinds += ['struct', 'list']
        kind = rng.choice(kinds)
        if kind == 'null':
            message.null_value = 0
        elif kind == 'number':
            if rng.random() < 0.03:
                # Google refuses to print NaN and infinities in a Value.
                message.number_value = rng.choice([float('nan'), float('inf'),
                                                   float('-inf')])
            else:
                value = V.random_double(rng)
                while value != value or value in (float('inf'), float('-inf')):
                    value = V.random_double(rng)
                message.number_value = value
        elif kind == 'string':
            message.string_value = V.random_string(rng)
        elif kind == 'bool':
            message.bool_value = rng.random() < 0.5
        elif kind == 'struct':
            message.struct_value.SetInParent()
            self.fill_struct(message.struct_value, depth + 1)
        elif kind == 'list':
            message.list_value.SetInParent()
            self.fill_listvalue(message.list_value, depth + 1)
        # 'unset': no kind at all, printed as null.
        return message

    def fill_any(self, message, depth=0):
        rng = self.rng
        kind = rng.random()
        if kind < 0.04:
            return message  # empty Any: {}
        if kind < 0.07:
            message.type_url = rng.choice(ODD_URLS)
            message.value = rng.choice([b'', b'\x08\x01', b'\x0b\x10\x01\x0c'])
            return message
        if kind < 0.09:
            # A type URL and no value: the type's default instance.
            message.type_url = 'type.googleapis.com/' + rng.choice(
                self.any_types + WELL_KNOWN)
            return message
        if depth >= MAX_DEPTH:
            name = rng.choice(sorted(WRAPPERS))
        elif kind < 0.55:
            name = rng.choice(self.any_types)
        else:
            name = rng.choice(WELL_KNOWN)
        inner = self.fill(self.new(name), depth + 1)
        message.type_url = rng.choice(ANY_PREFIXES) + name
        message.value = inner.SerializePartialToString(deterministic=True)
        return message
