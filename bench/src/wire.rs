//! Writing protobuf wire format by hand, the way generated encoders do:
//! fields in ascending number order, proto3 scalars at their default value
//! left out, repeated numeric fields packed.
//!
//! Hand-written so the generator produces a gigabyte in seconds; the tests
//! in `generate` check every generated message against its schema with
//! prost-reflect.

/// Wire types (the low three bits of a field's tag).
const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

/// Appends one encoded message to a buffer.
#[derive(Debug, Default)]
pub struct Wire {
    pub buf: Vec<u8>,
}

/// Appends `v` as a base-128 varint.
pub fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn zigzag32(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}

impl Wire {
    fn tag(&mut self, field: u32, wire_type: u32) {
        put_varint(&mut self.buf, u64::from(field << 3 | wire_type));
    }

    /// uint32, uint64, bool and enum fields (skipped at zero).
    pub fn uint(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.tag(field, VARINT);
            put_varint(&mut self.buf, v);
        }
    }

    /// int32 and int64 fields: negative values take ten bytes, as the
    /// protobuf encoding prescribes (skipped at zero).
    pub fn int(&mut self, field: u32, v: i64) {
        self.uint(field, v as u64);
    }

    /// sint32 fields (zigzag; skipped at zero).
    pub fn sint32(&mut self, field: u32, v: i32) {
        self.uint(field, zigzag32(v));
    }

    /// sint64 fields (zigzag; skipped at zero).
    pub fn sint64(&mut self, field: u32, v: i64) {
        self.uint(field, zigzag64(v));
    }

    /// bool fields (skipped when false).
    pub fn bool(&mut self, field: u32, v: bool) {
        self.uint(field, u64::from(v));
    }

    /// fixed32 and sfixed32 fields (skipped at zero).
    pub fn fixed32(&mut self, field: u32, v: u32) {
        if v != 0 {
            self.tag(field, FIXED32);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// fixed64 and sfixed64 fields (skipped at zero).
    pub fn fixed64(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.tag(field, FIXED64);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// float fields (skipped at +0.0 only: -0.0 is not a default).
    pub fn float(&mut self, field: u32, v: f32) {
        if v.to_bits() != 0 {
            self.tag(field, FIXED32);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// double fields (skipped at +0.0 only).
    pub fn double(&mut self, field: u32, v: f64) {
        if v.to_bits() != 0 {
            self.tag(field, FIXED64);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// string and bytes fields (skipped when empty).
    pub fn bytes(&mut self, field: u32, v: &[u8]) {
        if !v.is_empty() {
            self.bytes_always(field, v);
        }
    }

    /// An element of a repeated string or bytes field, or a map entry's
    /// key: written even when empty.
    pub fn bytes_always(&mut self, field: u32, v: &[u8]) {
        self.tag(field, LEN);
        put_varint(&mut self.buf, v.len() as u64);
        self.buf.extend_from_slice(v);
    }

    /// string fields.
    pub fn str(&mut self, field: u32, v: &str) {
        self.bytes(field, v.as_bytes());
    }

    /// A nested message (always written, even when empty: a present
    /// message field is not a default). `body` writes the nested fields.
    pub fn message(&mut self, field: u32, body: impl FnOnce(&mut Wire)) {
        self.tag(field, LEN);
        self.length_prefixed(body);
    }

    /// A packed repeated numeric field (skipped when empty). `body` writes
    /// the bare values with [`Wire::raw_varint`], [`Wire::raw_sint32`] or
    /// [`Wire::raw_float`].
    pub fn packed(&mut self, field: u32, body: impl FnOnce(&mut Wire)) {
        let start = self.buf.len();
        self.tag(field, LEN);
        let before = self.buf.len();
        self.length_prefixed(body);
        if self.buf.len() == before + 1 {
            // Nothing was packed: an empty repeated field is not written.
            self.buf.truncate(start);
        }
    }

    /// A bare varint inside a packed field.
    pub fn raw_varint(&mut self, v: u64) {
        put_varint(&mut self.buf, v);
    }

    /// A bare zigzag varint inside a packed `sint32` field.
    pub fn raw_sint32(&mut self, v: i32) {
        put_varint(&mut self.buf, zigzag32(v));
    }

    /// A bare float inside a packed `float` field.
    pub fn raw_float(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes `body` after a length prefix. The prefix's size is known only
    /// afterwards, so one byte is reserved and the body moved when its
    /// length needs more (bodies over 127 bytes; a short memmove).
    fn length_prefixed(&mut self, body: impl FnOnce(&mut Wire)) {
        let at = self.buf.len();
        self.buf.push(0);
        body(self);
        let len = self.buf.len() - at - 1;
        if len < 0x80 {
            self.buf[at] = len as u8;
        } else {
            let mut prefix = Vec::with_capacity(10);
            put_varint(&mut prefix, len as u64);
            self.buf.splice(at..at + 1, prefix);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_protobuf_encoding() {
        let mut buf = Vec::new();
        put_varint(&mut buf, 300);
        assert_eq!(buf, [0xac, 0x02]);
        let mut w = Wire::default();
        w.int(1, -1);
        assert_eq!(
            w.buf.len(),
            11,
            "negative int64 takes ten bytes plus the tag"
        );
        let mut w = Wire::default();
        w.sint32(1, -1);
        assert_eq!(w.buf, [0x08, 0x01]);
    }

    #[test]
    fn long_nested_messages_get_a_multi_byte_length() {
        let mut w = Wire::default();
        w.message(3, |m| m.bytes(1, &[b'x'; 200]));
        // tag, length 203 as two bytes, inner tag, inner length 200 as two bytes
        assert_eq!(&w.buf[..3], &[0x1a, 0xcb, 0x01]);
        assert_eq!(w.buf.len(), 3 + 203);
    }

    #[test]
    fn defaults_and_empty_packed_fields_are_left_out() {
        let mut w = Wire::default();
        w.uint(1, 0);
        w.str(2, "");
        w.double(3, 0.0);
        w.packed(4, |_| {});
        assert!(w.buf.is_empty());
        w.double(3, -0.0);
        assert_eq!(w.buf.len(), 9);
    }
}
