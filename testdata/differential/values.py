"""Edge values for every scalar type, and a random choice among them.

Each pool lists the values most likely to expose a difference in printing:
the extremes of every integer width, the floats whose text is hard to get
right, and strings that need escaping.
"""

import math
import struct

from google.protobuf.descriptor import FieldDescriptor as FD

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
U32_MAX, U64_MAX = (1 << 32) - 1, (1 << 64) - 1

INT32 = [0, 1, -1, I32_MAX, I32_MIN, I32_MAX - 1, I32_MIN + 1, 127, 128,
         -128, -129, 255, 256, 16383, 16384, 1000000]
INT64 = [0, 1, -1, I64_MAX, I64_MIN, I64_MAX - 1, I64_MIN + 1, I32_MAX,
         I32_MIN, I32_MAX + 1, I32_MIN - 1, U32_MAX, 1 << 53, (1 << 53) + 1,
         -(1 << 53) - 1, 10 ** 15, 10 ** 18, -(10 ** 18)]
UINT32 = [0, 1, U32_MAX, U32_MAX - 1, I32_MAX, I32_MAX + 1, 127, 128, 300]
UINT64 = [0, 1, U64_MAX, U64_MAX - 1, I64_MAX, I64_MAX + 1, U32_MAX,
          U32_MAX + 1, 1 << 53, (1 << 53) + 1, 10 ** 19]

F64_MAX = 1.7976931348623157e308
F64_MIN_NORMAL = 2.2250738585072014e-308
F64_MIN_SUBNORMAL = 5e-324
F32_MAX = 3.4028234663852886e38
F32_MIN_NORMAL = 1.1754943508222875e-38
F32_MIN_SUBNORMAL = 1.401298464324817e-45

DOUBLE = [0.0, -0.0, 1.0, -1.0, 0.1, -0.1, 0.5, 1.5, 1e21, 1e-7, 1e20,
          1e-6, 123456789.123, 9007199254740993.0, 2.0 ** 53, 1e16, 1e15,
          F64_MAX, -F64_MAX, F64_MIN_NORMAL, F64_MIN_SUBNORMAL,
          -F64_MIN_SUBNORMAL, 2.225073858507201e-308, 1.7976931348623155e308,
          math.pi, 1 / 3, 100.0, 1e100, 4.35, 0.3, 5e-7,
          float('nan'), float('inf'), float('-inf')]
FLOAT = [0.0, -0.0, 1.0, -1.0, 0.1, -0.1, 0.5, 1.5, 1e10, 1e-7, 3.14159,
         16777216.0, 16777217.0, 16777218.0, 1 / 3, 2 / 3, 0.2, 0.3, 1e20,
         F32_MAX, -F32_MAX, F32_MIN_NORMAL, F32_MIN_SUBNORMAL,
         -F32_MIN_SUBNORMAL, 1e38, 9.999999e-39, 123456.789, 1.0000001,
         8388608.5, 4.35, 1e21, 1e-45, 3e-45,
         float('nan'), float('inf'), float('-inf')]

STRING = ['', 'a', 'hello world', 'caf\u00e9', '\u2028\u2029', '\U0001F600',
          '\U0001F468\u200D\U0001F469\u200D\U0001F467', '\x00\x01\x1f\x7f',
          '"quoted" \\backslash\\ /slash/', '</script><!--', '\t\n\r\b\f',
          '\u00ff\u0100\u07ff\u0800\uffff\ufffe\U00010000\U0010ffff',
          '\ud7ff\ue000\ufeff', '\u0085\u00a0\u200b', 'x' * 1000,
          '\u65e5\u672c\u8a9e', '\u202e\u202d rtl', "'single'", '{}[],:',
          'null', 'true', '123', '-0', 'NaN', '\\u0041', '\x1b[31m']
BYTES = [b'', b'\x00', b'\xff', b'\x00\xff', b'abc', b'ab', b'a', b'abcd',
         b'\xfb\xff\xbf', bytes(range(256)), b'\xff' * 1000, b'\x3e\x3f',
         b'hello\nworld']

INVALID_UTF8 = [b'\xff', b'\xc0\x80', b'\xed\xa0\x80', b'\xf4\x90\x80\x80',
                b'ab\xe2\x82', b'\x80', b'\xc3', b'\xf0\x9f\x98',
                b'\xfe\xff', b'ok\xe9t\xe9']

# Timestamp/Duration edges.
TS_SECONDS_MIN, TS_SECONDS_MAX = -62135596800, 253402300799
DUR_SECONDS_MAX = 315576000000
NANOS = [0, 1, 999999999, 1000000, 500000000, 123000000, 123456000,
         123456789, 1000, 999999000, 10, 100000]
TS_SECONDS = [0, 1, -1, TS_SECONDS_MIN, TS_SECONDS_MAX, 1700000000,
              951782400, -2208988800, 253402214400, 86399, -86401,
              4102444800]
DUR_SECONDS = [0, 1, -1, DUR_SECONDS_MAX, -DUR_SECONDS_MAX, 60, 3600,
               -315576000, 1000000]

FIELD_MASK_PATHS = ['foo', 'foo_bar', 'foo_bar.baz_qux', 'a.b.c', '',
                    'x1_y', 'long_field_name_here', 'foo_bar_', 'foo__bar',
                    'FooBar', 'foo_1', 'foo.Bar', '_foo', 'a_b_c_d_e',
                    'caf\u00e9_cr\u00e8me', '\u00e9_\u00e0', 'a b',
                    'with.dots.only']

INT_POOLS = {
    FD.TYPE_INT32: (INT32, I32_MIN, I32_MAX),
    FD.TYPE_SINT32: (INT32, I32_MIN, I32_MAX),
    FD.TYPE_SFIXED32: (INT32, I32_MIN, I32_MAX),
    FD.TYPE_INT64: (INT64, I64_MIN, I64_MAX),
    FD.TYPE_SINT64: (INT64, I64_MIN, I64_MAX),
    FD.TYPE_SFIXED64: (INT64, I64_MIN, I64_MAX),
    FD.TYPE_UINT32: (UINT32, 0, U32_MAX),
    FD.TYPE_FIXED32: (UINT32, 0, U32_MAX),
    FD.TYPE_UINT64: (UINT64, 0, U64_MAX),
    FD.TYPE_FIXED64: (UINT64, 0, U64_MAX),
}


def random_double(rng):
    kind = rng.random()
    if kind < 0.6:
        return rng.choice(DOUBLE)
    if kind < 0.8:
        return struct.unpack('<d', struct.pack('<Q', rng.getrandbits(64)))[0]
    if kind < 0.9:
        return rng.uniform(-1e6, 1e6)
    return float(rng.randint(-10 ** 6, 10 ** 6))


def random_float(rng):
    kind = rng.random()
    if kind < 0.6:
        value = rng.choice(FLOAT)
    elif kind < 0.8:
        value = struct.unpack('<f', struct.pack('<I', rng.getrandbits(32)))[0]
    elif kind < 0.9:
        value = rng.uniform(-1e4, 1e4)
    else:
        value = float(rng.randint(-10 ** 7, 10 ** 7))
    # Python stores float fields as 32-bit values; round here so a value that
    # overflows 32 bits becomes infinity rather than an error.
    try:
        return struct.unpack('<f', struct.pack('<f', value))[0]
    except OverflowError:
        return math.copysign(float('inf'), value)


def random_string(rng):
    kind = rng.random()
    if kind < 0.7:
        return rng.choice(STRING)
    if kind < 0.9:
        return ''.join(rng.choice(STRING[:14]) for _ in range(rng.randint(1, 4)))
    # Random code points (no surrogates: Python refuses them in strings).
    chars = []
    for _ in range(rng.randint(1, 12)):
        cp = rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0x7FF),
                         rng.randint(0x800, 0xD7FF),
                         rng.randint(0xE000, 0xFFFF),
                         rng.randint(0x10000, 0x10FFFF)])
        chars.append(chr(cp))
    return ''.join(chars)


def random_bytes(rng):
    if rng.random() < 0.7:
        return rng.choice(BYTES)
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))


def random_int(rng, field_type):
    pool, low, high = INT_POOLS[field_type]
    if rng.random() < 0.75:
        return rng.choice(pool)
    bits = rng.choice([7, 14, 21, 31, 32, 53, 63, 64])
    value = rng.getrandbits(bits)
    if low < 0 and rng.random() < 0.5:
        value = -value
    return max(low, min(high, value))


def random_scalar(rng, field):
    """A random value for a non-message field, valid for Python's setters
    (closed enums get declared numbers only; open enums sometimes get
    undeclared ones)."""
    t = field.type
    if t in INT_POOLS:
        return random_int(rng, t)
    if t == FD.TYPE_DOUBLE:
        return random_double(rng)
    if t == FD.TYPE_FLOAT:
        return random_float(rng)
    if t == FD.TYPE_BOOL:
        return rng.random() < 0.5
    if t == FD.TYPE_STRING:
        return random_string(rng)
    if t == FD.TYPE_BYTES:
        return random_bytes(rng)
    if t == FD.TYPE_ENUM:
        return random_enum(rng, field.enum_type)
    raise ValueError('not a scalar field: %s' % field.full_name)


def random_enum(rng, enum_type, allow_unknown=None):
    numbers = [v.number for v in enum_type.values]
    if allow_unknown is None:
        allow_unknown = not enum_type.is_closed
    if allow_unknown and rng.random() < 0.2:
        return unknown_enum_number(rng, enum_type)
    return rng.choice(numbers)


def unknown_enum_number(rng, enum_type):
    numbers = set(v.number for v in enum_type.values)
    candidates = [n for n in (3, 7, 99, -2, -100, I32_MAX, I32_MIN, 1000, 4)
                  if n not in numbers]
    return rng.choice(candidates)


def sweep_values(field):
    """Every edge value of a field's type, for the deterministic sweep."""
    t = field.type
    if t in INT_POOLS:
        return list(INT_POOLS[t][0])
    if t == FD.TYPE_DOUBLE:
        return list(DOUBLE)
    if t == FD.TYPE_FLOAT:
        return [struct.unpack('<f', struct.pack('<f', v))[0] for v in FLOAT
                if abs(v) <= F32_MAX or math.isinf(v) or math.isnan(v)]
    if t == FD.TYPE_BOOL:
        return [False, True]
    if t == FD.TYPE_STRING:
        return list(STRING)
    if t == FD.TYPE_BYTES:
        return list(BYTES)
    if t == FD.TYPE_ENUM:
        values = [v.number for v in field.enum_type.values]
        if not field.enum_type.is_closed:
            values += [3, 99, -2, I32_MIN, I32_MAX]
        return values
    return []
