"""Wire-level variants of encoded messages.

Google's serializer writes every field once, in field-number order, packed
where it may. Real producers do not always: fields arrive out of order,
singular fields repeat (the last wins; messages merge), packed and unpacked
encodings mix, unknown fields appear, map entries lack keys or values. The
mutations below rewrite the bytes of a valid message in those ways, at the
top level or inside nested messages, and the `INVALID` ones break the bytes
on purpose. Whatever comes out, Google's parser decides what it means: the
expectation is always computed from the final bytes.
"""

import struct

from google.protobuf.descriptor import FieldDescriptor as FD

import values as V
import wire as W
from fill import is_map, is_message, is_synthetic_oneof


class Mutator(object):

    def __init__(self, rng, pool, filler):
        self.rng = rng
        self.pool = pool
        self.filler = filler
        self.applied = []

    # -- descriptor helpers -------------------------------------------------

    def field_for(self, descriptor, number):
        field = descriptor.fields_by_number.get(number)
        if field is None and descriptor.extension_ranges:
            try:
                field = self.pool.FindExtensionByNumber(descriptor, number)
            except KeyError:
                field = None
        return field

    def all_fields(self, descriptor):
        return list(descriptor.fields) + self.filler.extensions_of(descriptor)

    def unknown_number(self, descriptor):
        rng = self.rng
        while True:
            number = rng.choice([rng.randint(1, 60), rng.randint(1, 3000),
                                 rng.randint(19000, 19999),
                                 rng.randint(1, W.MAX_FIELD_NUMBER),
                                 W.MAX_FIELD_NUMBER, 15, 16, 2047, 2048])
            if self.field_for(descriptor, number) is None:
                return number

    # -- encoding one random occurrence of a field --------------------------

    def random_message_bytes(self, descriptor, depth):
        message = self.filler.new(descriptor.full_name)
        self.filler.fill(message, depth + 2)
        return message.SerializePartialToString(deterministic=True)

    def occurrence(self, field, depth, value=None):
        """One encoded occurrence (tag included) of `field` with a random
        value (or `value`); for repeated scalars sometimes a packed run."""
        rng = self.rng
        number = field.number
        if is_map(field):
            entry = field.message_type
            return W.len_field(number, self.entry_bytes(entry, depth))
        if field.type == FD.TYPE_GROUP:
            return W.group_field(number, self.random_message_bytes(field.message_type, depth))
        if field.type == FD.TYPE_MESSAGE:
            return W.len_field(number, self.random_message_bytes(field.message_type, depth))
        if value is None:
            value = V.random_scalar(rng, field)
        if field.is_repeated and field.type in W.PACKABLE and rng.random() < 0.5:
            run = [value] + [V.random_scalar(rng, field) for _ in range(rng.randint(0, 3))]
            payload = b''.join(W.scalar_payload(field.type, v) for v in run)
            return W.len_field(number, payload)
        return W.tag(number, W.WIRE_TYPE[field.type]) + W.scalar_payload(field.type, value)

    def entry_bytes(self, entry, depth, key=True, value=True):
        key_field = entry.fields_by_name['key']
        value_field = entry.fields_by_name['value']
        out = b''
        if key:
            out += self.occurrence(key_field, depth)
        if value:
            out += self.occurrence(value_field, depth)
        return out

    # -- applying mutations -------------------------------------------------

    def mutate(self, descriptor, data, depth=0, invalid=False):
        """Returns `data` (an encoding of `descriptor`) rewritten by one to
        three valid mutations, or by exactly one invalid one somewhere in
        the tree when `invalid` is set."""
        chunks = list(W.split(data))
        rng = self.rng
        if invalid:
            nested = [c for c in chunks if self.nested_descriptor(descriptor, c)]
            if nested and rng.random() < 0.5:
                index = chunks.index(rng.choice(nested))
                chunks[index] = self.rewrap(descriptor, chunks[index],
                                            depth, invalid=True)
                return b''.join(self.raw(c) for c in chunks)
            name = rng.choice(sorted(INVALID))
            self.applied.append('%s@%d' % (name, depth))
            return INVALID[name](self, descriptor, [self.raw(c) for c in chunks], depth)
        wanted = rng.randint(1, 3)
        done = 0
        for name in rng.sample(sorted(VALID), len(VALID)):
            if done == wanted:
                break
            result = VALID[name](self, descriptor, chunks, depth)
            if result is not None:
                chunks = result
                self.applied.append('%s@%d' % (name, depth))
                done += 1
        return b''.join(self.raw(c) for c in chunks)

    @staticmethod
    def raw(chunk):
        return chunk.raw if isinstance(chunk, W.Field) else chunk

    def nested_descriptor(self, descriptor, chunk):
        """The message type inside a chunk, if it holds one we can walk."""
        if not isinstance(chunk, W.Field):
            return None
        field = self.field_for(descriptor, chunk.number)
        if field is None or not is_message(field):
            return None
        if field.type == FD.TYPE_GROUP and chunk.wire_type != W.SGROUP:
            return None
        if field.type == FD.TYPE_MESSAGE and chunk.wire_type != W.LEN:
            return None
        return field.message_type

    def rewrap(self, descriptor, chunk, depth, invalid=False):
        inner = self.nested_descriptor(descriptor, chunk)
        payload = chunk.payload
        if inner.full_name == 'google.protobuf.Any' and not invalid:
            payload = self.mutate_any(payload, depth + 1)
        else:
            payload = self.mutate(inner, payload, depth + 1, invalid)
        if chunk.wire_type == W.SGROUP:
            return W.group_field(chunk.number, payload)
        return W.len_field(chunk.number, payload)

    def mutate_any(self, payload, depth):
        """Mutates the message inside an Any (when its type resolves)."""
        fields = W.split(payload)
        urls = [f for f in fields if f.number == 1 and f.wire_type == W.LEN]
        values = [f for f in fields if f.number == 2 and f.wire_type == W.LEN]
        if len(urls) != 1 or len(values) != 1:
            return self.mutate(self.pool.FindMessageTypeByName('google.protobuf.Any'),
                               payload, depth)
        url = urls[0].payload.decode('utf-8', 'replace')
        try:
            inner = self.pool.FindMessageTypeByName(url.split('/')[-1])
        except KeyError:
            return payload
        try:
            mutated = self.mutate(inner, values[0].payload, depth + 1)
        except W.WireError:
            # The value is not an encoding of the named type (an earlier
            # mutation wrote random bytes there): leave it as it is.
            return payload
        self.applied.append('any@%d' % depth)
        return b''.join(W.len_field(2, mutated) if f is values[0] else f.raw
                        for f in fields)


# -- valid mutations: each returns new chunks, or None when not applicable --

def m_shuffle(self, descriptor, chunks, depth):
    if len(chunks) < 2:
        return None
    chunks = list(chunks)
    if self.rng.random() < 0.5:
        self.rng.shuffle(chunks)
    else:
        chunks.insert(self.rng.randrange(len(chunks)), chunks.pop())
    return chunks


def unknown_field(self, descriptor, depth_left=2):
    rng = self.rng
    number = self.unknown_number(descriptor)
    kind = rng.choice(['varint', 'i64', 'i32', 'len', 'group', 'len_message'])
    if kind == 'varint':
        value = rng.choice([0, 1, V.U64_MAX, rng.getrandbits(64)])
        return W.tag(number, W.VARINT) + W.varint(value)
    if kind == 'i64':
        return W.tag(number, W.I64) + struct.pack('<Q', rng.getrandbits(64))
    if kind == 'i32':
        return W.tag(number, W.I32) + struct.pack('<I', rng.getrandbits(32))
    if kind == 'len':
        return W.len_field(number, V.random_bytes(rng))
    if kind == 'len_message':
        inner = b''.join(unknown_field(self, descriptor, 0) for _ in range(rng.randint(0, 3)))
        return W.len_field(number, inner)
    inner = b''
    for _ in range(rng.randint(0, 3)):
        if depth_left > 0:
            inner += unknown_field(self, descriptor, depth_left - 1)
    return W.group_field(number, inner)


def m_unknown(self, descriptor, chunks, depth):
    chunks = list(chunks)
    for _ in range(self.rng.randint(1, 3)):
        chunks.insert(self.rng.randint(0, len(chunks)), unknown_field(self, descriptor))
    return chunks


def m_dup_scalar(self, descriptor, chunks, depth):
    singular = [f for f in self.all_fields(descriptor)
                if not f.is_repeated and not is_message(f)]
    if not singular:
        return None
    field = self.rng.choice(singular)
    chunks = list(chunks)
    for _ in range(self.rng.randint(1, 2)):
        chunks.insert(self.rng.randint(0, len(chunks)), self.occurrence(field, depth))
    return chunks


def m_split_message(self, descriptor, chunks, depth):
    candidates = [c for c in chunks if self.nested_descriptor(descriptor, c)
                  and not self.field_for(descriptor, c.number).is_repeated]
    chunks = list(chunks)
    if candidates and self.rng.random() < 0.6:
        chunk = self.rng.choice(candidates)
        parts = W.split(chunk.payload)
        if len(parts) < 2:
            return None
        cut = self.rng.randint(1, len(parts) - 1)
        wrap = W.group_field if chunk.wire_type == W.SGROUP else W.len_field
        first = wrap(chunk.number, b''.join(p.raw for p in parts[:cut]))
        second = wrap(chunk.number, b''.join(p.raw for p in parts[cut:]))
        index = chunks.index(chunk)
        chunks[index:index + 1] = [first, second]
        if self.rng.random() < 0.5:
            # Something else between the two halves.
            chunks.insert(index + 1, unknown_field(self, descriptor))
        return chunks
    messages = [f for f in self.all_fields(descriptor)
                if is_message(f) and not f.is_repeated]
    if not messages:
        return None
    field = self.rng.choice(messages)
    for _ in range(2):
        chunks.insert(self.rng.randint(0, len(chunks)), self.occurrence(field, depth))
    return chunks


def m_pack_swap(self, descriptor, chunks, depth):
    out = []
    changed = False
    for chunk in chunks:
        field = self.field_for(descriptor, chunk.number) if isinstance(chunk, W.Field) else None
        if field is None or not field.is_repeated or field.type not in W.PACKABLE:
            out.append(chunk)
            continue
        element_type = W.WIRE_TYPE[field.type]
        if chunk.wire_type == W.LEN:
            elements = W.unpack(field.type, chunk.payload)
            if self.rng.random() < 0.6 or len(elements) < 2:
                out.extend(W.tag(field.number, element_type) + e for e in elements)
            else:
                cut = self.rng.randint(1, len(elements) - 1)
                out.append(W.len_field(field.number, b''.join(elements[:cut])))
                out.append(W.len_field(field.number, b''.join(elements[cut:])))
            changed = True
        elif chunk.wire_type == element_type:
            out.append(W.len_field(field.number, chunk.payload))
            changed = True
        else:
            out.append(chunk)
    if not changed:
        # Nothing repeated on the wire: write an empty packed run instead.
        packable = [f for f in self.all_fields(descriptor)
                    if f.is_repeated and f.type in W.PACKABLE]
        if not packable:
            return None
        out.insert(self.rng.randint(0, len(out)),
                   W.len_field(self.rng.choice(packable).number, b''))
    return out


def m_oneof_both(self, descriptor, chunks, depth):
    oneofs = [o for o in descriptor.oneofs
              if not is_synthetic_oneof(o) and len(o.fields) > 1]
    if not oneofs:
        return None
    oneof = self.rng.choice(oneofs)
    first, second = self.rng.sample(list(oneof.fields), 2)
    chunks = list(chunks)
    position = self.rng.randint(0, len(chunks))
    chunks[position:position] = [self.occurrence(first, depth), self.occurrence(second, depth)]
    return chunks


def m_enum_unknown(self, descriptor, chunks, depth):
    fields = [f for f in self.all_fields(descriptor) if f.type == FD.TYPE_ENUM]
    maps = [f for f in descriptor.fields if is_map(f)
            and f.message_type.fields_by_name['value'].type == FD.TYPE_ENUM]
    if not fields and not maps:
        return None
    chunks = list(chunks)
    field = self.rng.choice(fields + maps)
    if is_map(field):
        entry = field.message_type
        value_field = entry.fields_by_name['value']
        number = V.unknown_enum_number(self.rng, value_field.enum_type)
        payload = self.occurrence(entry.fields_by_name['key'], depth) + \
            W.tag(2, W.VARINT) + W.varint(number)
        occurrence = W.len_field(field.number, payload)
    else:
        number = V.unknown_enum_number(self.rng, field.enum_type)
        if field.is_repeated and self.rng.random() < 0.5:
            run = [W.varint(number), W.varint(V.random_enum(self.rng, field.enum_type))]
            self.rng.shuffle(run)
            occurrence = W.len_field(field.number, b''.join(run))
        else:
            occurrence = W.tag(field.number, W.VARINT) + W.varint(number)
    chunks.insert(self.rng.randint(0, len(chunks)), occurrence)
    return chunks


def m_map_edge(self, descriptor, chunks, depth):
    maps = [f for f in descriptor.fields if is_map(f)]
    if not maps:
        return None
    field = self.rng.choice(maps)
    entry = field.message_type
    key_field = entry.fields_by_name['key']
    value_field = entry.fields_by_name['value']
    rng = self.rng
    kind = rng.choice(['no_key', 'no_value', 'empty', 'value_first', 'dup_key',
                       'key_twice', 'unknown_inside'])
    if kind == 'no_key':
        entries = [self.entry_bytes(entry, depth, key=False)]
    elif kind == 'no_value':
        entries = [self.entry_bytes(entry, depth, value=False)]
    elif kind == 'empty':
        entries = [b'']
    elif kind == 'value_first':
        entries = [self.occurrence(value_field, depth) + self.occurrence(key_field, depth)]
    elif kind == 'dup_key':
        key = self.occurrence(key_field, depth)
        entries = [key + self.occurrence(value_field, depth),
                   key + self.occurrence(value_field, depth)]
    elif kind == 'key_twice':
        entries = [self.occurrence(key_field, depth) + self.occurrence(value_field, depth)
                   + self.occurrence(key_field, depth)]
    else:
        entries = [self.entry_bytes(entry, depth) + unknown_field(self, entry)]
    chunks = list(chunks)
    for payload in entries:
        chunks.insert(rng.randint(0, len(chunks)), W.len_field(field.number, payload))
    return chunks


def m_bad_utf8(self, descriptor, chunks, depth):
    fields = [f for f in self.all_fields(descriptor) if f.type == FD.TYPE_STRING]
    if not fields:
        return None
    field = self.rng.choice(fields)
    data = self.rng.choice(V.INVALID_UTF8)
    chunks = list(chunks)
    chunks.insert(self.rng.randint(0, len(chunks)), W.len_field(field.number, data))
    return chunks


def m_nested(self, descriptor, chunks, depth):
    candidates = [i for i, c in enumerate(chunks) if self.nested_descriptor(descriptor, c)]
    if not candidates or depth > 6:
        return None
    chunks = list(chunks)
    index = self.rng.choice(candidates)
    chunks[index] = self.rewrap(descriptor, chunks[index], depth)
    # The rewrapped chunk is bytes now; keep it walkable for later mutations.
    chunks[index] = W.split(chunks[index])[0]
    return chunks


def m_wrong_wire_type(self, descriptor, chunks, depth):
    fields = self.all_fields(descriptor)
    if not fields:
        return None
    field = self.rng.choice(fields)
    expected = W.WIRE_TYPE[field.type]
    allowed = {expected}
    if field.is_repeated and field.type in W.PACKABLE:
        allowed.add(W.LEN)
    choices = [w for w in (W.VARINT, W.I64, W.LEN, W.I32, W.SGROUP) if w not in allowed]
    wire_type = self.rng.choice(choices)
    if wire_type == W.VARINT:
        occurrence = W.tag(field.number, wire_type) + W.varint(self.rng.getrandbits(20))
    elif wire_type == W.I64:
        occurrence = W.tag(field.number, wire_type) + b'\x01' * 8
    elif wire_type == W.I32:
        occurrence = W.tag(field.number, wire_type) + b'\x02' * 4
    elif wire_type == W.LEN:
        occurrence = W.len_field(field.number, b'\x08\x01')
    else:
        occurrence = W.group_field(field.number, b'\x08\x01')
    chunks = list(chunks)
    chunks.insert(self.rng.randint(0, len(chunks)), occurrence)
    return chunks


def m_varint_forms(self, descriptor, chunks, depth):
    rng = self.rng
    fields = [f for f in self.all_fields(descriptor)
              if W.WIRE_TYPE[f.type] in (W.VARINT, W.I32, W.I64)]
    if not fields:
        return None
    field = rng.choice(fields)
    wire_type = W.WIRE_TYPE[field.type]
    if wire_type == W.VARINT:
        kind = rng.random()
        if kind < 0.4:
            # Non-minimal encoding of a small value.
            value = rng.choice([0, 1, 5, 127])
            payload = W.padded_varint(value, rng.randint(2, 10))
        elif kind < 0.7:
            # More bits than the field holds: truncated to its width.
            payload = W.varint(rng.choice([1 << 32, (1 << 32) + 5, (1 << 33) - 1,
                                           V.U64_MAX, 1 << 63, (1 << 31) | (1 << 40)]))
        else:
            # Negative int32 in its 5-byte form, and bools other than 0/1.
            payload = rng.choice([b'\xff\xff\xff\xff\x0f', b'\x80\x80\x80\x80\x08',
                                  b'\x02', b'\xff\x01', b'\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01'])
        occurrence = W.tag(field.number, W.VARINT) + payload
    elif wire_type == W.I32:
        bits = rng.choice([0x7fc00001, 0xffc00000, 0x7f800001, 0x80000000,
                           0x00000001, 0x80000001, 0x7f7fffff, 0xff800000,
                           rng.getrandbits(32)])
        occurrence = W.tag(field.number, W.I32) + struct.pack('<I', bits)
    else:
        bits = rng.choice([0x7ff8000000000001, 0xfff8000000000000,
                           0x7ff0000000000001, 0x8000000000000000, 1,
                           0x8000000000000001, 0x7fefffffffffffff,
                           0x3ff0000000000001, rng.getrandbits(64)])
        occurrence = W.tag(field.number, W.I64) + struct.pack('<Q', bits)
    chunks = list(chunks)
    chunks.insert(rng.randint(0, len(chunks)), occurrence)
    return chunks


VALID = {
    'shuffle': m_shuffle,
    'unknown': m_unknown,
    'dup_scalar': m_dup_scalar,
    'split_message': m_split_message,
    'pack_swap': m_pack_swap,
    'oneof_both': m_oneof_both,
    'enum_unknown': m_enum_unknown,
    'map_edge': m_map_edge,
    'bad_utf8': m_bad_utf8,
    'nested': m_nested,
    'nested2': m_nested,
    'wrong_wire_type': m_wrong_wire_type,
    'varint_forms': m_varint_forms,
}


# -- invalid mutations: take raw chunks, return the bytes of this level -----

def i_truncate(self, descriptor, raws, depth):
    data = b''.join(raws)
    if len(data) < 2:
        return b'\x08'  # a tag with no value
    return data[:self.rng.randint(1, len(data) - 1)]


def i_bad_wire_type(self, descriptor, raws, depth):
    number = self.rng.choice([1, 2, 3, self.unknown_number(descriptor)])
    bad = W.tag(number, self.rng.choice([6, 7])) + b'\x01\x02\x03'
    raws.insert(self.rng.randint(0, len(raws)), bad)
    return b''.join(raws)


def i_long_varint(self, descriptor, raws, depth):
    kind = self.rng.choice(['value', 'tag', 'length', 'overflow'])
    if kind == 'value':
        bad = b'\x08' + b'\xff' * 10 + b'\x01'
    elif kind == 'tag':
        bad = b'\x88' + b'\x80' * 10 + b'\x00\x01'
    elif kind == 'length':
        bad = b'\x0a' + b'\x80' * 11 + b'\x00'
    else:
        # Ten bytes whose last carries bits past 64.
        bad = b'\x08' + b'\xff' * 9 + self.rng.choice([b'\x02', b'\x7f', b'\x03'])
    raws.insert(self.rng.randint(0, len(raws)), bad)
    return b''.join(raws)


def i_field_number(self, descriptor, raws, depth):
    bad = self.rng.choice([
        b'\x00\x01',                              # field 0, varint
        b'\x02\x00',                              # field 0, length 0
        W.varint((1 << 32) | (1 << 3)) + b'\x01',  # tag over 32 bits
        W.varint(((1 << 29)) << 3) + b'\x01',      # field number 2^29
        W.varint(0xFFFFFFFF) + b'\x01',            # field number 2^29 - 1, wire type 7
    ])
    raws.insert(self.rng.randint(0, len(raws)), bad)
    return b''.join(raws)


def i_length_past_end(self, descriptor, raws, depth):
    data = b''.join(raws)
    number = self.rng.choice([1, 2, self.unknown_number(descriptor)])
    length = self.rng.choice([1, 5, 100, 1 << 31, (1 << 32) + 1, 1 << 62, V.U64_MAX])
    return data + W.tag(number, W.LEN) + W.varint(length) + b'\x00' * min(length - 1, 3)


def i_group_mismatch(self, descriptor, raws, depth):
    rng = self.rng
    number = rng.choice([1, 2, self.unknown_number(descriptor)])
    kind = rng.choice(['mismatch', 'stray_end', 'unclosed', 'end_inside_len'])
    if kind == 'mismatch':
        bad = W.tag(number, W.SGROUP) + b'\x08\x01' + W.tag(number + 1, W.EGROUP)
    elif kind == 'stray_end':
        bad = W.tag(number, W.EGROUP)
    elif kind == 'unclosed':
        return b''.join(raws) + W.tag(number, W.SGROUP) + b'\x08\x01'
    else:
        bad = W.tag(number, W.SGROUP) + W.len_field(1, W.tag(number, W.EGROUP)) + W.tag(number, W.EGROUP)
    raws.insert(rng.randint(0, len(raws)), bad)
    return b''.join(raws)


def i_truncated_fixed(self, descriptor, raws, depth):
    number = self.rng.choice([1, 2, self.unknown_number(descriptor)])
    wire_type = self.rng.choice([W.I32, W.I64])
    return b''.join(raws) + W.tag(number, wire_type) + b'\x01' * self.rng.randint(0, 3)


def i_bad_packed(self, descriptor, raws, depth):
    """A packed run whose length does not hold whole elements."""
    packable = [f for f in self.all_fields(descriptor)
                if f.is_repeated and f.type in W.PACKABLE]
    number = self.rng.choice(packable).number if packable else self.unknown_number(descriptor)
    payload = self.rng.choice([b'\x01\x02\x03', b'\x01\x02\x03\x04\x05',
                               b'\x01\x80', b'\xff\xff', b'\x00' * 7])
    raws.insert(self.rng.randint(0, len(raws)), W.len_field(number, payload))
    return b''.join(raws)


# -- MessageSet items -------------------------------------------------------

def is_message_set(descriptor):
    return descriptor.GetOptions().message_set_wire_format


def item(type_id=None, message=None, extra=(), order=('type_id', 'message')):
    """A MessageSet item: group 1 holding `type_id` (field 2, a varint, or
    raw bytes for an odd encoding) and `message` (field 3), in `order`,
    with the `extra` chunks (bytes) after them."""
    body = b''
    for part in order:
        if part == 'type_id' and type_id is not None:
            body += W.tag(2, W.VARINT) + (type_id if isinstance(type_id, bytes)
                                          else W.varint(type_id))
        elif part == 'message' and message is not None:
            body += W.len_field(3, message)
    return W.group_field(1, body + b''.join(extra))


def item_parts(chunk):
    """(type_id, message) of an item as Google's serializer writes it."""
    parts = W.split(chunk.payload)
    type_id = next((W.read_varint(p.raw, 1)[0] for p in parts
                    if p.number == 2 and p.wire_type == W.VARINT), None)
    message = next((p.payload for p in parts
                    if p.number == 3 and p.wire_type == W.LEN), None)
    return type_id, message


def m_message_set(self, descriptor, chunks, depth):
    """Items of every shape upb reads (see `Walker::item` in
    crates/transcode/src/transcode.rs): message before type_id, repeated or
    missing parts, other fields inside (field number 0 too), unknown type
    ids, items repeated for one extension (the last replaces), plain
    extension fields mixed with items, type ids past 32 bits, and the
    message inside an item mutated like any other."""
    if not is_message_set(descriptor):
        return None
    rng = self.rng
    extensions = self.filler.extensions_of(descriptor)
    items = [c for c in chunks if isinstance(c, W.Field) and c.number == 1
             and c.wire_type == W.SGROUP]
    chunks = list(chunks)

    def some_extension():
        return rng.choice(extensions) if extensions else None

    def payload_for(extension):
        return self.random_message_bytes(extension.message_type, depth)

    op = rng.choice(['order', 'extra', 'dup_parts', 'unknown_id', 'repeat',
                     'plain', 'missing', 'id_forms', 'nested'])
    if op in ('order', 'extra', 'dup_parts', 'id_forms', 'nested', 'plain') and items:
        chunk = rng.choice(items)
        type_id, message = item_parts(chunk)
        if type_id is None or message is None:
            return None
        extra = []
        order = ('type_id', 'message')
        new_id = type_id
        if op == 'order':
            order = ('message', 'type_id')
        elif op == 'extra':
            extra = [rng.choice([W.tag(4, W.VARINT) + W.varint(9),
                                 W.tag(0, W.VARINT) + W.varint(1),
                                 W.len_field(rng.randint(4, 50), b'xyz'),
                                 W.group_field(5, W.tag(6, W.VARINT) + W.varint(1)),
                                 W.tag(2, W.LEN) + W.varint(1) + b'\x01',
                                 W.tag(3, W.VARINT) + W.varint(5)])
                     for _ in range(rng.randint(1, 3))]
            if rng.random() < 0.5:
                order = ('message', 'type_id')
        elif op == 'dup_parts':
            other = some_extension()
            extra = [rng.choice([
                W.tag(2, W.VARINT) + W.varint(other.number if other else 7),
                W.len_field(3, payload_for(other) if other else b'\x08\x01'),
                W.len_field(3, b'\xff\xff')])]
        elif op == 'id_forms':
            new_id = rng.choice([W.padded_varint(type_id, rng.randint(2, 10)),
                                 W.varint(type_id + (rng.randint(1, 1 << 20) << 32))])
        elif op == 'nested':
            extension = self.field_for(descriptor, type_id)
            if extension is None:
                return None
            try:
                message = self.mutate(extension.message_type, message, depth + 1)
            except W.WireError:
                return None
        elif op == 'plain':
            replacement = W.len_field(type_id, message)
            chunks[chunks.index(chunk)] = replacement
            return chunks
        chunks[chunks.index(chunk)] = item(new_id, message, extra, order)
        return chunks
    extension = some_extension()
    if op == 'unknown_id' or extension is None:
        number = self.unknown_number(descriptor)
        data = rng.choice([b'', b'\x08\x01', V.random_bytes(rng), b'\x0f\xff'])
        new = item(rng.choice([number, 0, (1 << 32) - 1, 1 << 31]), data)
    elif op == 'missing':
        new = rng.choice([item(extension.number, None), item(None, payload_for(extension))])
    elif op == 'repeat' or op == 'plain':
        new = item(extension.number, payload_for(extension))
        if op == 'plain':
            new = W.len_field(extension.number, payload_for(extension))
        chunks.insert(rng.randint(0, len(chunks)), item(extension.number, payload_for(extension)))
    else:
        new = item(extension.number, payload_for(extension))
    chunks.insert(rng.randint(0, len(chunks)), new)
    return chunks


VALID['message_set'] = m_message_set
VALID['message_set2'] = m_message_set


def i_bad_item(self, descriptor, raws, depth):
    """A MessageSet item that breaks: its message does not decode as the
    type its id names, it has no end tag or another group's, its type id is
    truncated or 11 bytes long. (Other types: a truncation.)"""
    if not is_message_set(descriptor):
        return i_truncate(self, descriptor, raws, depth)
    rng = self.rng
    extensions = self.filler.extensions_of(descriptor)
    number = rng.choice(extensions).number if extensions else 1000
    kind = rng.choice(['payload', 'unclosed', 'mismatch', 'id_truncated', 'id_long',
                       'length'])
    if kind == 'payload':
        bad = item(number, rng.choice([b'\x0f', b'\x0a\xff', b'\x08', b'\x0c', b'\x80']))
    elif kind == 'unclosed':
        bad = W.tag(1, W.SGROUP) + W.tag(2, W.VARINT) + W.varint(number) + W.len_field(3, b'')
        raws.append(bad)
        return b''.join(raws)
    elif kind == 'mismatch':
        bad = (W.tag(1, W.SGROUP) + W.tag(2, W.VARINT) + W.varint(number)
               + W.len_field(3, b'') + W.tag(2, W.EGROUP))
    elif kind == 'id_truncated':
        bad = W.tag(1, W.SGROUP) + W.tag(2, W.VARINT) + b'\xe8'
        raws.append(bad)
        return b''.join(raws)
    elif kind == 'id_long':
        bad = item(b'\xe8\x87' + b'\x80' * 8 + b'\x00', b'')
    else:
        bad = (W.tag(1, W.SGROUP) + W.tag(2, W.VARINT) + W.varint(number)
               + W.tag(3, W.LEN) + W.varint(50) + b'\x08\x01')
        raws.append(bad)
        return b''.join(raws)
    raws.insert(rng.randint(0, len(raws)), bad)
    return b''.join(raws)


INVALID = {
    'truncate': i_truncate,
    'bad_wire_type': i_bad_wire_type,
    'long_varint': i_long_varint,
    'field_number': i_field_number,
    'length_past_end': i_length_past_end,
    'group_mismatch': i_group_mismatch,
    'truncated_fixed': i_truncated_fixed,
    'bad_packed': i_bad_packed,
    'bad_item': i_bad_item,
}
