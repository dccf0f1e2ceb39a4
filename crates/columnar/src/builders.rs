//! Column buffers that can be truncated: the rows a failed message half
//! wrote are cut off by length (every column's length at a row boundary
//! follows from the row count and the offsets above it), so no snapshot is
//! taken per row. `finish` turns them into Arrow arrays without copying.

use std::sync::Arc;

use arrow_array::types::{
    Decimal128Type, Float32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, MapArray, PrimitiveArray, StringArray, StructArray,
};
use arrow_buffer::{BooleanBufferBuilder, Buffer, NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, FieldRef};

/// One column's values (and validity when nullable).
#[derive(Debug)]
pub(crate) struct Column {
    pub(crate) nulls: Option<NullBufferBuilder>,
    pub(crate) data: Data,
}

#[derive(Debug)]
pub(crate) enum Data {
    Bool(BooleanBufferBuilder),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Decimal(Vec<i128>),
    Timestamp(Vec<i64>),
    /// `Utf8` or `Binary`: offsets (starting with 0) into `bytes`.
    Bytes {
        offsets: Vec<i32>,
        bytes: Vec<u8>,
    },
    Struct {
        len: usize,
        children: Vec<Column>,
    },
    List {
        offsets: Vec<i32>,
        child: Box<Column>,
    },
    Map {
        offsets: Vec<i32>,
        keys: Box<Column>,
        values: Box<Column>,
    },
}

impl Column {
    /// Empty buffers for a column of `field`'s type.
    pub(crate) fn new(field: &Field) -> Column {
        Column {
            nulls: field.is_nullable().then(|| NullBufferBuilder::new(0)),
            data: Data::new(field.data_type()),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match &self.data {
            Data::Bool(b) => b.len(),
            Data::I32(v) => v.len(),
            Data::I64(v) | Data::Timestamp(v) => v.len(),
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::Decimal(v) => v.len(),
            Data::Struct { len, .. } => *len,
            Data::Bytes { offsets, .. }
            | Data::List { offsets, .. }
            | Data::Map { offsets, .. } => offsets.len() - 1,
        }
    }

    /// Marks the value just appended present (for nullable columns).
    #[inline]
    pub(crate) fn valid(&mut self) {
        if let Some(n) = &mut self.nulls {
            n.append_non_null();
        }
    }

    /// Cuts the column back to its first `n` values.
    pub(crate) fn truncate(&mut self, n: usize) {
        if let Some(nulls) = &mut self.nulls {
            nulls.truncate(n);
        }
        match &mut self.data {
            Data::Bool(b) => b.truncate(n),
            Data::I32(v) => v.truncate(n),
            Data::I64(v) | Data::Timestamp(v) => v.truncate(n),
            Data::F32(v) => v.truncate(n),
            Data::F64(v) => v.truncate(n),
            Data::Decimal(v) => v.truncate(n),
            Data::Bytes { offsets, bytes } => {
                offsets.truncate(n + 1);
                bytes.truncate(end(offsets));
            }
            Data::Struct { len, children } => {
                *len = (*len).min(n);
                for c in children {
                    c.truncate(n);
                }
            }
            Data::List { offsets, child } => {
                offsets.truncate(n + 1);
                child.truncate(end(offsets));
            }
            Data::Map {
                offsets,
                keys,
                values,
            } => {
                offsets.truncate(n + 1);
                let e = end(offsets);
                keys.truncate(e);
                values.truncate(e);
            }
        }
    }

    /// The bytes the buffers hold (an estimate of the arrays' size).
    pub(crate) fn buffered_bytes(&self) -> usize {
        let nulls = self.nulls.as_ref().map_or(0, |n| n.len() / 8);
        nulls
            + match &self.data {
                Data::Bool(b) => b.len() / 8,
                Data::I32(v) => v.len() * 4,
                Data::I64(v) | Data::Timestamp(v) => v.len() * 8,
                Data::F32(v) => v.len() * 4,
                Data::F64(v) => v.len() * 8,
                Data::Decimal(v) => v.len() * 16,
                Data::Bytes { offsets, bytes } => offsets.len() * 4 + bytes.len(),
                Data::Struct { children, .. } => children.iter().map(Column::buffered_bytes).sum(),
                Data::List { offsets, child } => offsets.len() * 4 + child.buffered_bytes(),
                Data::Map {
                    offsets,
                    keys,
                    values,
                } => offsets.len() * 4 + keys.buffered_bytes() + values.buffered_bytes(),
            }
    }

    /// The column as an Arrow array of `field`'s type (the type it was
    /// made for), leaving the buffers empty.
    ///
    /// Panics only if the buffers break the invariants `decode` keeps
    /// (equal lengths of struct children, offsets within their values,
    /// valid UTF-8 in `Utf8` columns): a bug, never bad input.
    pub(crate) fn finish(&mut self, field: &Field) -> ArrayRef {
        let nulls = self.nulls.as_mut().and_then(NullBufferBuilder::finish);
        match (&mut self.data, field.data_type()) {
            (Data::Bool(b), _) => Arc::new(BooleanArray::new(b.finish(), nulls)),
            (Data::I32(v), _) => Arc::new(PrimitiveArray::<Int32Type>::new(take(v), nulls)),
            (Data::I64(v), _) => Arc::new(PrimitiveArray::<Int64Type>::new(take(v), nulls)),
            (Data::F32(v), _) => Arc::new(PrimitiveArray::<Float32Type>::new(take(v), nulls)),
            (Data::F64(v), _) => Arc::new(PrimitiveArray::<Float64Type>::new(take(v), nulls)),
            (Data::Decimal(v), t) => Arc::new(
                PrimitiveArray::<Decimal128Type>::new(take(v), nulls).with_data_type(t.clone()),
            ),
            (Data::Timestamp(v), t) => Arc::new(
                PrimitiveArray::<TimestampMicrosecondType>::new(take(v), nulls)
                    .with_data_type(t.clone()),
            ),
            (Data::Bytes { offsets, bytes }, DataType::Binary) => {
                let (offsets, bytes) = take_bytes(offsets, bytes);
                Arc::new(BinaryArray::new(offsets, bytes, nulls))
            }
            (Data::Bytes { offsets, bytes }, _) => {
                let (offsets, bytes) = take_bytes(offsets, bytes);
                Arc::new(utf8_array(offsets, bytes, nulls))
            }
            (Data::Struct { len, children }, DataType::Struct(fields)) => {
                let arrays = children
                    .iter_mut()
                    .zip(fields.iter())
                    .map(|(c, f)| c.finish(f))
                    .collect();
                let n = std::mem::take(len);
                Arc::new(
                    StructArray::try_new_with_length(fields.clone(), arrays, nulls, n)
                        .expect("decode keeps struct children as long as the struct"),
                )
            }
            (Data::List { offsets, child }, DataType::List(item)) => {
                let values = child.finish(item);
                Arc::new(
                    arrow_array::ListArray::try_new(
                        item.clone(),
                        take_offsets(offsets),
                        values,
                        nulls,
                    )
                    .expect("decode keeps list offsets within the elements"),
                )
            }
            (
                Data::Map {
                    offsets,
                    keys,
                    values,
                },
                DataType::Map(entries, sorted),
            ) => {
                let DataType::Struct(kv) = entries.data_type() else {
                    unreachable!("map entries are a struct")
                };
                let arrays = vec![keys.finish(&kv[0]), values.finish(&kv[1])];
                let entries_array = StructArray::try_new(kv.clone(), arrays, None)
                    .expect("decode writes a value for every key");
                Arc::new(
                    MapArray::try_new(
                        FieldRef::clone(entries),
                        take_offsets(offsets),
                        entries_array,
                        nulls,
                        *sorted,
                    )
                    .expect("decode keeps map offsets within the entries"),
                )
            }
            (_, t) => unreachable!("a column made for {t} holds other data"),
        }
    }
}

impl Data {
    fn new(t: &DataType) -> Data {
        match t {
            DataType::Boolean => Data::Bool(BooleanBufferBuilder::new(0)),
            DataType::Int32 => Data::I32(Vec::new()),
            DataType::Int64 => Data::I64(Vec::new()),
            DataType::Float32 => Data::F32(Vec::new()),
            DataType::Float64 => Data::F64(Vec::new()),
            DataType::Decimal128(..) => Data::Decimal(Vec::new()),
            DataType::Timestamp(..) => Data::Timestamp(Vec::new()),
            DataType::Struct(fields) => Data::Struct {
                len: 0,
                children: fields.iter().map(|f| Column::new(f)).collect(),
            },
            DataType::List(item) => Data::List {
                offsets: vec![0],
                child: Box::new(Column::new(item)),
            },
            DataType::Map(entries, _) => {
                let DataType::Struct(kv) = entries.data_type() else {
                    unreachable!("map entries are a struct")
                };
                Data::Map {
                    offsets: vec![0],
                    keys: Box::new(Column::new(&kv[0])),
                    values: Box::new(Column::new(&kv[1])),
                }
            }
            // Utf8 and Binary.
            _ => Data::Bytes {
                offsets: vec![0],
                bytes: Vec::new(),
            },
        }
    }
}

/// The end of the last value (offsets are never empty).
fn end(offsets: &[i32]) -> usize {
    offsets.last().map_or(0, |&o| o as usize)
}

/// The most a column's buffer reserves for the next batch (see
/// [`take_vec`]): a batch is cut at about 1 MiB of buffers, so only a
/// batch grown by one large row reaches it.
const RESERVE_BYTES: usize = 1 << 20;

/// `v`'s values, leaving it empty with room for as many (up to
/// [`RESERVE_BYTES`]): a column's next batch is about as long as its last,
/// and growing it from nothing again copies it about once more and
/// touches fresh pages (a few percent of writing the clickstream as
/// Parquet).
fn take_vec<T>(v: &mut Vec<T>) -> Vec<T> {
    let room = v.len().min(RESERVE_BYTES / size_of::<T>().max(1));
    std::mem::replace(v, Vec::with_capacity(room))
}

fn take<T: arrow_buffer::ArrowNativeType>(v: &mut Vec<T>) -> ScalarBuffer<T> {
    ScalarBuffer::from(take_vec(v))
}

fn take_offsets(offsets: &mut Vec<i32>) -> OffsetBuffer<i32> {
    let o = take_vec(offsets);
    offsets.push(0);
    OffsetBuffer::new(ScalarBuffer::from(o))
}

/// A `Utf8` array, checked as [`StringArray::try_new`] checks it (offsets
/// within the values, the values UTF-8, every offset on a character
/// boundary, one validity bit a value) but with SIMD UTF-8 validation:
/// Arrow's own check runs the standard library's, which took 5% of writing
/// Parquet on the clickstream data.
///
/// Panics only if the buffers break what `decode` keeps (a bug, never bad
/// input), as `try_new(…).expect(…)` would.
#[allow(unsafe_code)]
fn utf8_array(
    offsets: OffsetBuffer<i32>,
    bytes: Buffer,
    nulls: Option<arrow_buffer::NullBuffer>,
) -> StringArray {
    let start = offsets.first() as usize;
    let end = offsets.last() as usize;
    let text = bytes
        .get(start..end)
        .and_then(|b| simdutf8::basic::from_utf8(b).ok())
        .expect("decode writes valid UTF-8 within the buffer to Utf8 columns");
    assert!(
        offsets
            .iter()
            .all(|&o| text.is_char_boundary(o as usize - start)),
        "decode writes whole strings to Utf8 columns"
    );
    assert!(
        nulls.as_ref().is_none_or(|n| n.len() == offsets.len() - 1),
        "one validity bit a value"
    );
    // SAFETY: `new_unchecked` is safe when `try_new` would not fail, and the
    // checks above are exactly `try_new`'s (`GenericStringType::validate`
    // and the null buffer's length; `OffsetBuffer` already guarantees
    // offsets that start at 0 or more and never decrease).
    unsafe { StringArray::new_unchecked(offsets, bytes, nulls) }
}

fn take_bytes(offsets: &mut Vec<i32>, bytes: &mut Vec<u8>) -> (OffsetBuffer<i32>, Buffer) {
    (take_offsets(offsets), Buffer::from_vec(take_vec(bytes)))
}

/// Appending one value (present: its validity bit set).
impl Column {
    pub(crate) fn push_i32(&mut self, x: i32) {
        if let Data::I32(v) = &mut self.data {
            v.push(x);
        }
        self.valid();
    }

    pub(crate) fn push_i64(&mut self, x: i64) {
        if let Data::I64(v) = &mut self.data {
            v.push(x);
        }
        self.valid();
    }

    pub(crate) fn push_timestamp(&mut self, x: i64) {
        if let Data::Timestamp(v) = &mut self.data {
            v.push(x);
        }
        self.valid();
    }

    pub(crate) fn push_f32(&mut self, x: f32) {
        if let Data::F32(v) = &mut self.data {
            v.push(x);
        }
        self.valid();
    }

    pub(crate) fn push_f64(&mut self, x: f64) {
        if let Data::F64(v) = &mut self.data {
            v.push(x);
        }
        self.valid();
    }

    pub(crate) fn push_decimal(&mut self, x: i128) {
        if let Data::Decimal(v) = &mut self.data {
            v.push(x);
        }
        self.valid();
    }

    pub(crate) fn push_bool(&mut self, x: bool) {
        if let Data::Bool(b) = &mut self.data {
            b.append(x);
        }
        self.valid();
    }

    /// A string or bytes value; fails (naming byte `at`) when the batch's
    /// column would pass the 2 GiB that 32-bit offsets address.
    pub(crate) fn push_bytes(
        &mut self,
        x: &[u8],
        at: usize,
    ) -> Result<(), protoland_transcode::TranscodeError> {
        if let Data::Bytes { offsets, bytes } = &mut self.data {
            let end = i32::try_from(bytes.len() + x.len()).map_err(|_| {
                let mut e = crate::error::too_big();
                e.offset = at;
                e
            })?;
            bytes.extend_from_slice(x);
            offsets.push(end);
        }
        self.valid();
        Ok(())
    }

    /// A short string (an enum name or number): cannot overflow in
    /// practice, a failure leaves the value empty.
    pub(crate) fn push_str(&mut self, x: &str) {
        if self.push_bytes(x.as_bytes(), 0).is_err()
            && let Data::Bytes { offsets, .. } = &mut self.data
        {
            // Over 2 GiB already: an empty value keeps the lengths right.
            let end = offsets.last().copied().unwrap_or(0);
            offsets.push(end);
            self.valid();
        }
    }

    /// The value under a null bit (the caller appends the bit): zero or
    /// empty; a struct's placeholder is made by the caller.
    pub(crate) fn push_placeholder(&mut self) {
        match &mut self.data {
            Data::Bool(b) => b.append(false),
            Data::I32(v) => v.push(0),
            Data::I64(v) | Data::Timestamp(v) => v.push(0),
            Data::F32(v) => v.push(0.0),
            Data::F64(v) => v.push(0.0),
            Data::Decimal(v) => v.push(0),
            Data::Bytes { offsets, .. }
            | Data::List { offsets, .. }
            | Data::Map { offsets, .. } => {
                let end = offsets.last().copied().unwrap_or(0);
                offsets.push(end);
            }
            Data::Struct { len, .. } => *len += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(offsets: Vec<i32>, bytes: &[u8]) -> (OffsetBuffer<i32>, Buffer) {
        (
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Buffer::from_vec(bytes.to_vec()),
        )
    }

    #[test]
    fn utf8_arrays_are_checked_as_arrow_checks_them() {
        let (offsets, bytes) = parts(vec![0, 1, 3], "aé".as_bytes());
        let array = utf8_array(offsets, bytes, None);
        assert_eq!(array.value(1), "é");
        // What try_new refuses panics here too: a split character, bytes
        // that are not UTF-8, an offset past the values, a short null buffer.
        let bad: [(Vec<i32>, &[u8], usize); 4] = [
            (vec![0, 2, 3], "aé".as_bytes(), 2),
            (vec![0, 1, 2], b"a\xff", 2),
            (vec![0, 1, 4], "aé".as_bytes(), 2),
            (vec![0, 1, 3], "aé".as_bytes(), 1),
        ];
        for (offsets, bytes, nulls) in bad {
            let (o, b) = parts(offsets.clone(), bytes);
            let nulls = Some(arrow_buffer::NullBuffer::new_valid(nulls));
            let (o2, b2) = parts(offsets.clone(), bytes);
            assert!(StringArray::try_new(o2, b2, nulls.clone()).is_err());
            let r = std::panic::catch_unwind(|| utf8_array(o, b, nulls));
            assert!(r.is_err(), "{offsets:?} {bytes:?}");
        }
    }
}
