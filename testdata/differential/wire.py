"""Protobuf wire format, by hand: encoding single fields and splitting an
encoded message into its top-level fields.

The differential generator builds its wire-level variants (fields out of
order, duplicates, unknown fields, packed/unpacked swaps, invalid inputs)
from these pieces, then lets Google's parser decide what the bytes mean.
"""

import struct

from google.protobuf.descriptor import FieldDescriptor as FD

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5

MAX_FIELD_NUMBER = (1 << 29) - 1

# The wire type each field type is written with (packed repeated fields use
# LEN instead).
WIRE_TYPE = {
    FD.TYPE_DOUBLE: I64,
    FD.TYPE_FLOAT: I32,
    FD.TYPE_INT64: VARINT,
    FD.TYPE_UINT64: VARINT,
    FD.TYPE_INT32: VARINT,
    FD.TYPE_FIXED64: I64,
    FD.TYPE_FIXED32: I32,
    FD.TYPE_BOOL: VARINT,
    FD.TYPE_STRING: LEN,
    FD.TYPE_GROUP: SGROUP,
    FD.TYPE_MESSAGE: LEN,
    FD.TYPE_BYTES: LEN,
    FD.TYPE_UINT32: VARINT,
    FD.TYPE_ENUM: VARINT,
    FD.TYPE_SFIXED32: I32,
    FD.TYPE_SFIXED64: I64,
    FD.TYPE_SINT32: VARINT,
    FD.TYPE_SINT64: VARINT,
}

PACKABLE = frozenset(t for t, w in WIRE_TYPE.items() if w in (VARINT, I32, I64))


class WireError(Exception):
    """The bytes are not a well-formed message (only raised for bytes the
    generator itself believed valid: a bug in the generator)."""


def varint(value):
    """Encodes a non-negative integer (negative ones as 64-bit two's
    complement, as protobuf does for int32/int64/enum)."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def padded_varint(value, length):
    """A varint of exactly `length` bytes (non-minimal: legal up to 10)."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    for i in range(length):
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if i < length - 1 else 0))
    return bytes(out)


def tag(number, wire_type):
    return varint((number << 3) | wire_type)


def zigzag(value, bits):
    return ((value << 1) ^ (value >> (bits - 1))) & ((1 << bits) - 1)


def scalar_payload(field_type, value):
    """The bytes of one scalar value (without tag); LEN values include their
    length prefix."""
    if field_type in (FD.TYPE_INT32, FD.TYPE_INT64, FD.TYPE_UINT32,
                      FD.TYPE_UINT64, FD.TYPE_ENUM):
        return varint(value)
    if field_type == FD.TYPE_BOOL:
        return varint(1 if value else 0)
    if field_type == FD.TYPE_SINT32:
        return varint(zigzag(value, 32))
    if field_type == FD.TYPE_SINT64:
        return varint(zigzag(value, 64))
    if field_type == FD.TYPE_FIXED32:
        return struct.pack('<I', value)
    if field_type == FD.TYPE_SFIXED32:
        return struct.pack('<i', value)
    if field_type == FD.TYPE_FIXED64:
        return struct.pack('<Q', value)
    if field_type == FD.TYPE_SFIXED64:
        return struct.pack('<q', value)
    if field_type == FD.TYPE_FLOAT:
        return struct.pack('<f', value)
    if field_type == FD.TYPE_DOUBLE:
        return struct.pack('<d', value)
    if field_type == FD.TYPE_STRING:
        data = value.encode('utf-8') if isinstance(value, str) else value
        return varint(len(data)) + data
    if field_type == FD.TYPE_BYTES:
        return varint(len(value)) + value
    raise ValueError('not a scalar type: %r' % field_type)


def len_field(number, payload):
    return tag(number, LEN) + varint(len(payload)) + payload


def group_field(number, payload):
    return tag(number, SGROUP) + payload + tag(number, EGROUP)


def read_varint(data, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise WireError('truncated varint')
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos
        if shift >= 70:
            raise WireError('varint too long')


class Field(object):
    """One top-level field occurrence: number, wire type, the whole encoded
    occurrence (`raw`, tag included) and its payload (for LEN: the bytes
    inside the length; for SGROUP: the bytes between the group tags; for
    scalars: the encoded value)."""

    __slots__ = ('number', 'wire_type', 'raw', 'payload')

    def __init__(self, number, wire_type, raw, payload):
        self.number = number
        self.wire_type = wire_type
        self.raw = raw
        self.payload = payload


def skip_field(data, pos, number, wire_type):
    """Returns (payload_start, payload_end, end) for the field whose tag
    ends at `pos`."""
    if wire_type == VARINT:
        _, end = read_varint(data, pos)
        return pos, end, end
    if wire_type == I64:
        end = pos + 8
    elif wire_type == I32:
        end = pos + 4
    elif wire_type == LEN:
        length, start = read_varint(data, pos)
        end = start + length
        if end > len(data):
            raise WireError('length past the end')
        return start, end, end
    elif wire_type == SGROUP:
        start = pos
        while True:
            key, after = read_varint(data, pos)
            inner_number, inner_type = key >> 3, key & 7
            if inner_type == EGROUP:
                if inner_number != number:
                    raise WireError('end-group mismatch')
                return start, pos, after
            _, _, pos = skip_field(data, after, inner_number, inner_type)
    else:
        raise WireError('bad wire type %d' % wire_type)
    if end > len(data):
        raise WireError('truncated fixed-width value')
    return pos, end, end


def split(data):
    """Splits an encoded message into its top-level field occurrences."""
    fields = []
    pos = 0
    while pos < len(data):
        start = pos
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError('field number 0')
        payload_start, payload_end, pos = skip_field(data, pos, number, wire_type)
        fields.append(Field(number, wire_type, data[start:pos],
                            data[payload_start:payload_end]))
    return fields


def unpack(field_type, payload):
    """The encoded elements (each without tag) of a packed payload."""
    wire_type = WIRE_TYPE[field_type]
    out = []
    pos = 0
    while pos < len(payload):
        if wire_type == VARINT:
            _, end = read_varint(payload, pos)
        elif wire_type == I32:
            end = pos + 4
        else:
            end = pos + 8
        out.append(payload[pos:end])
        pos = end
    return out
