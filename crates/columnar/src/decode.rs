//! Wire bytes → column values: [`RowsBuilder`].
//!
//! A message is first checked as Google's parser would (the JSON plan's
//! [`Plan::check`]: wire format, UTF-8, nesting), so malformed bytes fail
//! before any column is touched. Then each message's field occurrences are
//! gathered, ordered by field and merged as protobuf merges them (last one
//! wins for singular scalars, singular messages merge, repeated elements
//! join, the last oneof member wins), as the JSON writer's slow path does,
//! and appended to the columns. What can still fail past the check
//! (a Timestamp out of range, the text of a well-known type that JSON
//! cannot express) cuts every column back to the last whole row.

use arrow_array::RecordBatch;
use protoland_transcode::{
    ErrorKind, FieldReader, TranscodeError, WireValue, check_timestamp, read_varint, unzigzag,
};

use crate::builders::{Column, Data};
use crate::schema::{Card, Columns, FieldCol, MessagePlan, Scalar, Value};
use crate::values::{
    absent, accepts, body, default_value, enum_value, in_field, packed_error, push_offset,
    push_text, scalar_default, wire_type,
};

type R<T> = Result<T, TranscodeError>;

/// Appends messages as rows of [`Columns`]; one per thread.
#[derive(Debug)]
pub struct RowsBuilder {
    columns: Columns,
    cols: Vec<Column>,
    rows: usize,
    /// See [`RowsBuilder::with_max_row_bytes`].
    max_row_bytes: usize,
    s: Scratch,
}

/// A list or map is checked against the row limit once every this many
/// elements (a text value once whole): a message past the limit is
/// refused when its buffers hold at most this many elements more.
const CHECK_EVERY: usize = 256;

/// Working memory reused from message to message.
#[derive(Debug, Default)]
struct Scratch {
    /// Field occurrences of the messages being decoded, a stack: each
    /// message's above its parent's.
    occ: Vec<Occ>,
    /// Per oneof of the messages being decoded: (winning field, the
    /// offset before which its occurrences are overridden).
    oneofs: Vec<(u32, usize)>,
    /// Spans of singular messages that occur more than once (merged).
    spans: Vec<(usize, usize)>,
    /// ProtoJSON of a value stored as text, and merged spans' bytes.
    text: Vec<u8>,
    joined: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Occ {
    field: u32,
    at: usize,
    value: WireValue,
}

/// A dropped occurrence (an overridden oneof member).
const DEAD: u32 = u32::MAX;
const NO_FIELD: u32 = u32::MAX;

/// A message's bytes: one span, or several to merge (`spans[lo..hi]`).
#[derive(Debug, Clone, Copy)]
enum Src {
    One(usize, usize),
    Many(usize, usize),
}

impl RowsBuilder {
    /// An empty builder of `columns`' rows.
    pub fn new(columns: &Columns) -> RowsBuilder {
        let cols = columns
            .inner
            .schema
            .fields()
            .iter()
            .map(|f| Column::new(f))
            .collect();
        RowsBuilder {
            columns: columns.clone(),
            cols,
            rows: 0,
            max_row_bytes: usize::MAX,
            s: Scratch::default(),
        }
    }

    /// Refuses a message whose row would be too large to hold: once a
    /// list, map or text value it adds takes one column's buffers past
    /// `limit` bytes (the rows buffered since the last
    /// [`RowsBuilder::finish`] count too, so finish batches well below
    /// it), the message fails with [`ErrorKind::RowTooLarge`] and leaves
    /// no row. This bounds what few wire bytes can become (a packed varint
    /// of one byte is 8 or 16 bytes of column, an enum number its name),
    /// as the line limit bounds JSON. Default: no limit.
    pub fn with_max_row_bytes(mut self, limit: usize) -> RowsBuilder {
        self.max_row_bytes = limit;
        self
    }

    /// Decodes one message's wire bytes and appends it as a row.
    ///
    /// # Errors
    ///
    /// A [`TranscodeError`] with the byte offset in `wire` and the field
    /// path (column names): what [`Plan::transcode`] rejects for the same
    /// bytes, as far as columns hold it (extensions are not columns, so
    /// their values are only checked for wire format). A message that
    /// fails leaves no partial row: every column is as before the call.
    ///
    /// [`Plan::transcode`]: protoland_transcode::Plan::transcode
    pub fn append(&mut self, wire: &[u8]) -> Result<(), TranscodeError> {
        let inner = &self.columns.inner;
        if let Err(e) = inner.check.check(wire) {
            // The check names fields without indices or keys; the JSON
            // writer finds the same error with the full path.
            self.s.text.clear();
            return Err(inner
                .check
                .transcode(wire, &mut self.s.text)
                .err()
                .unwrap_or(e));
        }
        let mut d = Decoder {
            wire,
            limit: self.max_row_bytes,
            s: &mut self.s,
        };
        match d.message(&inner.root, &mut self.cols, Src::One(0, wire.len()), 0) {
            Ok(()) => {
                self.rows += 1;
                Ok(())
            }
            Err(e) => {
                for c in &mut self.cols {
                    c.truncate(self.rows);
                }
                self.s.occ.clear();
                self.s.oneofs.clear();
                self.s.spans.clear();
                Err(e)
            }
        }
    }

    /// The rows appended since the last [`RowsBuilder::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row is buffered.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// About how many bytes the buffered rows take (their Arrow buffers):
    /// finish a batch when it reaches the size the caller allows.
    pub fn buffered_bytes(&self) -> usize {
        self.cols.iter().map(Column::buffered_bytes).sum()
    }

    /// The buffered rows as a batch of [`Columns::arrow_schema`]; the
    /// builder is empty afterwards.
    pub fn finish(&mut self) -> RecordBatch {
        let schema = self.columns.inner.schema.clone();
        let arrays = self
            .cols
            .iter_mut()
            .zip(schema.fields().iter())
            .map(|(c, f)| c.finish(f))
            .collect();
        let rows = std::mem::take(&mut self.rows);
        RecordBatch::try_new_with_options(
            schema,
            arrays,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .expect("every column holds one value per row")
    }
}

struct Decoder<'w, 's> {
    wire: &'w [u8],
    /// [`RowsBuilder::with_max_row_bytes`].
    limit: usize,
    s: &'s mut Scratch,
}

impl<'w> Decoder<'w, '_> {
    /// Fails once `col` holds more than the row limit; `at` is the field's
    /// tag, where the error points.
    fn within_limit(&self, col: &Column, at: usize) -> R<()> {
        if self.limit != usize::MAX && col.buffered_bytes() > self.limit {
            return Err(TranscodeError::new(
                ErrorKind::RowTooLarge { limit: self.limit },
                at,
                "",
            ));
        }
        Ok(())
    }

    fn span(&self, src: Src, k: usize) -> (usize, usize) {
        match src {
            Src::One(s, e) => (s, e),
            Src::Many(lo, _) => self.s.spans[lo + k],
        }
    }

    fn message(&mut self, m: &MessagePlan, cols: &mut [Column], src: Src, depth: u32) -> R<()> {
        let base = self.s.occ.len();
        let ob = self.s.oneofs.len();
        let count = match src {
            Src::One(..) => 1,
            Src::Many(lo, hi) => hi - lo,
        };
        for k in 0..count {
            let (start, end) = self.span(src, k);
            let mut reader = FieldReader::new(self.wire, start, end, depth);
            while let Some(f) = reader.next_field()? {
                let Some(fi) = m.lookup(f.number) else {
                    continue;
                };
                let col = &m.fields[fi];
                if !accepts(col, f.value) {
                    continue;
                }
                if let (Card::Singular, Value::Enum(e), WireValue::Varint(v)) =
                    (&col.card, &col.value, f.value)
                    && e.closed
                    && e.name(v as i32).is_none()
                {
                    continue; // an unknown field, as Google's parser keeps it
                }
                self.s.occ.push(Occ {
                    field: fi as u32,
                    at: f.tag_at,
                    value: f.value,
                });
            }
        }
        let top = self.s.occ.len();
        if m.oneofs > 0 {
            self.resolve_oneofs(m, base, top, ob);
        }
        let occ = &mut self.s.occ[base..top];
        if !occ.is_sorted_by_key(|o| (o.field, o.at)) {
            occ.sort_unstable_by_key(|o| (o.field, o.at));
        }
        let mut i = base;
        for (fi, (col, column)) in m.fields.iter().zip(cols.iter_mut()).enumerate() {
            let mut j = i;
            while j < top && self.s.occ[j].field == fi as u32 {
                j += 1;
            }
            self.field(col, column, i, j, depth)
                .map_err(|e| in_field(e, &col.name))?;
            i = j;
        }
        self.s.occ.truncate(base);
        self.s.oneofs.truncate(ob);
        Ok(())
    }

    /// Keeps, per oneof, only the last member set and its occurrences
    /// since another member was last set.
    fn resolve_oneofs(&mut self, m: &MessagePlan, base: usize, top: usize, ob: usize) {
        self.s.oneofs.resize(ob + m.oneofs, (NO_FIELD, 0));
        for i in (base..top).rev() {
            let o = self.s.occ[i];
            let Some(k) = m.fields[o.field as usize].oneof else {
                continue;
            };
            let slot = &mut self.s.oneofs[ob + k];
            if slot.0 == NO_FIELD {
                slot.0 = o.field;
            } else if slot.0 != o.field && slot.1 == 0 {
                slot.1 = o.at;
            }
        }
        for i in base..top {
            let o = self.s.occ[i];
            let Some(k) = m.fields[o.field as usize].oneof else {
                continue;
            };
            let (winner, cutoff) = self.s.oneofs[ob + k];
            if o.field != winner || o.at < cutoff {
                self.s.occ[i].field = DEAD;
            }
        }
    }

    /// Appends field `col` from its occurrences `occ[i..j]` (wire order).
    fn field(
        &mut self,
        col: &FieldCol,
        column: &mut Column,
        i: usize,
        j: usize,
        depth: u32,
    ) -> R<()> {
        match col.card {
            Card::Singular => {
                if i == j {
                    absent(col, column);
                    return Ok(());
                }
                match &col.value {
                    Value::Scalar(s) => self.scalar(*s, self.s.occ[j - 1].value, column),
                    Value::Enum(e) => {
                        enum_value(e, self.s.occ[j - 1].value, column);
                        Ok(())
                    }
                    value => {
                        let at = self.s.occ[i].at;
                        if j - i == 1 {
                            let (s, e) = body(self.s.occ[i].value);
                            self.nested(value, column, Src::One(s, e), at, depth)
                        } else {
                            let lo = self.s.spans.len();
                            for k in i..j {
                                let span = body(self.s.occ[k].value);
                                self.s.spans.push(span);
                            }
                            let hi = self.s.spans.len();
                            let r = self.nested(value, column, Src::Many(lo, hi), at, depth);
                            self.s.spans.truncate(lo);
                            r
                        }
                    }
                }
            }
            Card::Repeated => {
                let Data::List { offsets, child } = &mut column.data else {
                    unreachable!("a repeated field's column is a list")
                };
                let mut n = 0usize;
                for k in i..j {
                    let o = self.s.occ[k];
                    match (&col.value, o.value) {
                        (Value::Scalar(s), WireValue::Len { start, end }) if s.wire_type() != 2 => {
                            self.packed(start, end, s.wire_type(), |d, v| {
                                n += 1;
                                if n.is_multiple_of(CHECK_EVERY) {
                                    d.within_limit(child, o.at)?;
                                }
                                d.scalar(*s, v, child)
                            })
                            .map_err(|e| in_field(e, &format!("[{n}]")))?;
                        }
                        (Value::Enum(e), WireValue::Len { start, end }) => {
                            self.packed(start, end, 0, |d, v| {
                                if let WireValue::Varint(x) = v
                                    && e.closed
                                    && e.name(x as i32).is_none()
                                {
                                    return Ok(());
                                }
                                n += 1;
                                if n.is_multiple_of(CHECK_EVERY) {
                                    d.within_limit(child, o.at)?;
                                }
                                enum_value(e, v, child);
                                Ok(())
                            })
                            .map_err(|e| in_field(e, &format!("[{n}]")))?;
                        }
                        (Value::Scalar(s), v) => {
                            self.scalar(*s, v, child)
                                .map_err(|e| in_field(e, &format!("[{n}]")))?;
                            n += 1;
                        }
                        (Value::Enum(e), v) => {
                            if let WireValue::Varint(x) = v
                                && e.closed
                                && e.name(x as i32).is_none()
                            {
                                continue;
                            }
                            enum_value(e, v, child);
                            n += 1;
                        }
                        (value, v) => {
                            let (s, e) = body(v);
                            self.nested(value, child, Src::One(s, e), o.at, depth)
                                .map_err(|e| in_field(e, &format!("[{n}]")))?;
                            n += 1;
                        }
                    }
                    if n > 0 && n.is_multiple_of(CHECK_EVERY) {
                        self.within_limit(child, o.at)
                            .map_err(|e| in_field(e, &format!("[{n}]")))?;
                    }
                }
                push_offset(offsets, child.len())?;
                column.valid();
                Ok(())
            }
            Card::Map { key, value_group } => self.map(col, key, value_group, column, i, j, depth),
        }
    }

    /// Calls `each` for every element of a packed field in
    /// `wire[start..end]` of wire type `wt`.
    fn packed(
        &mut self,
        start: usize,
        end: usize,
        wt: u8,
        mut each: impl FnMut(&mut Self, WireValue) -> R<()>,
    ) -> R<()> {
        let wire = self.wire;
        let data = &wire[..end];
        let mut p = start;
        while p < end {
            let v = match wt {
                1 => {
                    let b = data.get(p..p + 8).and_then(|b| b.first_chunk::<8>());
                    let Some(b) = b else {
                        return Err(packed_error(end - start, 8, start));
                    };
                    p += 8;
                    WireValue::I64(u64::from_le_bytes(*b))
                }
                5 => {
                    let b = data.get(p..p + 4).and_then(|b| b.first_chunk::<4>());
                    let Some(b) = b else {
                        return Err(packed_error(end - start, 4, start));
                    };
                    p += 4;
                    WireValue::I32(u32::from_le_bytes(*b))
                }
                _ => WireValue::Varint(read_varint(data, &mut p)?),
            };
            each(self, v)?;
        }
        Ok(())
    }

    fn scalar(&mut self, s: Scalar, v: WireValue, col: &mut Column) -> R<()> {
        let wire = self.wire;
        match (s, v) {
            (Scalar::Int32, WireValue::Varint(x)) => col.push_i32(x as i32),
            (Scalar::SInt32, WireValue::Varint(x)) => col.push_i32(unzigzag(x, false) as i32),
            (Scalar::SFixed32, WireValue::I32(x)) => col.push_i32(x as i32),
            (Scalar::Int64, WireValue::Varint(x)) => col.push_i64(x as i64),
            (Scalar::SInt64, WireValue::Varint(x)) => col.push_i64(unzigzag(x, true)),
            (Scalar::SFixed64, WireValue::I64(x)) => col.push_i64(x as i64),
            (Scalar::UInt32, WireValue::Varint(x)) => col.push_i64(i64::from(x as u32)),
            (Scalar::Fixed32, WireValue::I32(x)) => col.push_i64(i64::from(x)),
            (Scalar::UInt64, WireValue::Varint(x)) | (Scalar::Fixed64, WireValue::I64(x)) => {
                col.push_decimal(i128::from(x))
            }
            (Scalar::Bool, WireValue::Varint(x)) => col.push_bool(x != 0),
            (Scalar::Float, WireValue::I32(x)) => col.push_f32(f32::from_bits(x)),
            (Scalar::Double, WireValue::I64(x)) => col.push_f64(f64::from_bits(x)),
            (Scalar::Bytes, WireValue::Len { start, end }) => {
                return col.push_bytes(&wire[start..end], start);
            }
            (Scalar::String { verified: true }, WireValue::Len { start, end }) => {
                // `RowsBuilder::append` ran `Plan::check` on these bytes
                // first, which checks the UTF-8 of every such string (and
                // the Utf8 array is checked once more, whole, when built).
                return col.push_bytes(&wire[start..end], start);
            }
            (Scalar::String { verified: false }, WireValue::Len { start, end }) => {
                // proto2 strings are not checked by Google's parser: a Utf8
                // column holds them with U+FFFD for bad bytes.
                let bytes = &wire[start..end];
                if simdutf8::basic::from_utf8(bytes).is_ok() {
                    return col.push_bytes(bytes, start);
                }
                return col.push_bytes(String::from_utf8_lossy(bytes).as_bytes(), start);
            }
            // `accepts` lets no other wire type through.
            _ => scalar_default(s, col),
        }
        Ok(())
    }

    /// A message-typed value (struct, timestamp, text or wrapper) from
    /// `src`; `at` is the first occurrence's tag, where value errors point.
    fn nested(
        &mut self,
        value: &Value,
        col: &mut Column,
        src: Src,
        at: usize,
        depth: u32,
    ) -> R<()> {
        match value {
            Value::Message(m) => {
                let Data::Struct { len, children } = &mut col.data else {
                    unreachable!("a message's column is a struct")
                };
                self.message(m, children, src, depth + 1)?;
                *len += 1;
                col.valid();
                Ok(())
            }
            Value::Timestamp => {
                let (mut seconds, mut nanos) = (0i64, 0i32);
                self.each_field(src, depth, |number, v| match (number, v) {
                    (1, WireValue::Varint(x)) => seconds = x as i64,
                    (2, WireValue::Varint(x)) => nanos = x as i32,
                    _ => {}
                })?;
                check_timestamp(seconds, nanos)
                    .map_err(|kind| TranscodeError::new(kind, at, ""))?;
                // Nanos are in 0..1e9 (checked): truncated to microseconds.
                col.push_timestamp(seconds * 1_000_000 + i64::from(nanos / 1000));
                Ok(())
            }
            Value::Wrapper(s) => {
                let mut last = None;
                self.each_field(src, depth, |number, v| {
                    if number == 1 && wire_type(v) == s.wire_type() {
                        last = Some(v);
                    }
                })?;
                match last {
                    Some(v) => self.scalar(*s, v, col),
                    None => {
                        scalar_default(*s, col);
                        Ok(())
                    }
                }
            }
            Value::Text { plan, unquote } => {
                let (bytes, base) = match src {
                    Src::One(s, e) => (&self.wire[s..e], s),
                    Src::Many(lo, hi) => {
                        self.s.joined.clear();
                        for k in lo..hi {
                            let (s, e) = self.s.spans[k];
                            self.s.joined.extend_from_slice(&self.wire[s..e]);
                        }
                        (&self.s.joined[..], self.s.spans[lo].0)
                    }
                };
                self.s.text.clear();
                plan.transcode_limited(bytes, &mut self.s.text, self.limit)
                    .map_err(|mut e| {
                        e.offset += base;
                        if let ErrorKind::LineTooLong { limit } = e.kind {
                            e.kind = ErrorKind::RowTooLarge { limit };
                        }
                        e
                    })?;
                push_text(col, &self.s.text, *unquote, at)?;
                self.within_limit(col, at)
            }
            Value::Scalar(_) | Value::Enum(_) => unreachable!("not a message"),
        }
    }

    /// Calls `each` with the number and value of every field of the
    /// (merged) message `src`, in wire order.
    fn each_field(&self, src: Src, depth: u32, mut each: impl FnMut(u32, WireValue)) -> R<()> {
        let count = match src {
            Src::One(..) => 1,
            Src::Many(lo, hi) => hi - lo,
        };
        for k in 0..count {
            let (start, end) = self.span(src, k);
            let mut reader = FieldReader::new(self.wire, start, end, depth + 1);
            while let Some(f) = reader.next_field()? {
                each(f.number, f.value);
            }
        }
        Ok(())
    }

    /// A map field from its entries `occ[i..j]`: the last entry of a key
    /// wins, as protobuf parses maps.
    #[allow(clippy::too_many_arguments)]
    fn map(
        &mut self,
        col: &FieldCol,
        key: Scalar,
        value_group: bool,
        column: &mut Column,
        i: usize,
        j: usize,
        depth: u32,
    ) -> R<()> {
        let Data::Map {
            offsets,
            keys,
            values,
        } = &mut column.data
        else {
            unreachable!("a map field's column is a map")
        };
        // (key, value, entry tag, its value spans): the last valid
        // occurrence of each; a message value's occurrences merge, so all
        // their spans (`vspans[lo..hi]`) are kept.
        type Entry = (Option<WireValue>, Option<WireValue>, usize, (usize, usize));
        let mut entries: Vec<Entry> = Vec::with_capacity(j - i);
        let mut vspans: Vec<(usize, usize)> = Vec::new();
        let merges = !matches!(&col.value, Value::Scalar(_) | Value::Enum(_));
        let value_wt = match &col.value {
            Value::Scalar(s) => s.wire_type(),
            Value::Enum(_) => 0,
            _ if value_group => 3,
            _ => 2,
        };
        for k in i..j {
            let o = self.s.occ[k];
            let (mut kv, mut vv) = (None, None);
            let lo = vspans.len();
            // An entry with any unknown field (another number, another
            // wire type, a closed enum's undeclared number) is not kept by
            // upb: it neither adds its key nor replaces an earlier entry.
            let mut ok = true;
            self.each_field(
                Src::One(body(o.value).0, body(o.value).1),
                depth,
                |n, v| match n {
                    1 if wire_type(v) == key.wire_type() => kv = Some(v),
                    2 if wire_type(v) == value_wt => {
                        if let (Value::Enum(e), WireValue::Varint(x)) = (&col.value, v)
                            && e.closed
                            && e.name(x as i32).is_none()
                        {
                            ok = false;
                            return;
                        }
                        if merges {
                            vspans.push(body(v));
                        }
                        vv = Some(v)
                    }
                    _ => ok = false,
                },
            )?;
            if ok {
                entries.push((kv, vv, o.at, (lo, vspans.len())));
            }
        }
        // Dedupe by key, keeping each key's last entry in its place.
        let ids: Vec<KeyId<'_>> = entries.iter().map(|e| self.key_id(key, e.0)).collect();
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by(|&a, &b| ids[a].cmp(&ids[b]).then(a.cmp(&b)));
        let mut keep = vec![false; entries.len()];
        for w in 0..order.len() {
            let last = order
                .get(w + 1)
                .is_none_or(|&next| ids[next] != ids[order[w]]);
            keep[order[w]] = last;
        }
        for (k, &(kv, vv, at, (lo, hi))) in entries.iter().enumerate() {
            if !keep[k] {
                continue;
            }
            match kv {
                Some(v) => self.scalar(key, v, keys)?,
                None => scalar_default(key, keys),
            }
            let r = match (&col.value, vv) {
                (_, None) => {
                    default_value(&col.value, values);
                    Ok(())
                }
                (Value::Scalar(s), Some(v)) => self.scalar(*s, v, values),
                (Value::Enum(e), Some(v)) => {
                    enum_value(e, v, values);
                    Ok(())
                }
                (value, Some(_)) if hi - lo == 1 => {
                    let (s, e) = vspans[lo];
                    self.nested(value, values, Src::One(s, e), at, depth + 1)
                }
                (value, Some(_)) => {
                    let base = self.s.spans.len();
                    self.s.spans.extend_from_slice(&vspans[lo..hi]);
                    let src = Src::Many(base, self.s.spans.len());
                    let r = self.nested(value, values, src, at, depth + 1);
                    self.s.spans.truncate(base);
                    r
                }
            };
            r.map_err(|e| in_field(e, &format!("[{}]", self.key_path(key, kv))))?;
            if k > 0 && k.is_multiple_of(CHECK_EVERY) {
                self.within_limit(keys, at)?;
                self.within_limit(values, at)?;
            }
        }
        push_offset(offsets, keys.len())?;
        column.valid();
        Ok(())
    }

    fn key_id(&self, key: Scalar, v: Option<WireValue>) -> KeyId<'w> {
        match v {
            Some(WireValue::Len { start, end }) => KeyId::Bytes(&self.wire[start..end]),
            Some(WireValue::Varint(x)) => KeyId::Int(match key {
                Scalar::Int32 => i128::from(x as i32),
                Scalar::SInt32 => i128::from(unzigzag(x, false) as i32),
                Scalar::SInt64 => i128::from(unzigzag(x, true)),
                Scalar::Int64 => i128::from(x as i64),
                Scalar::UInt32 => i128::from(x as u32),
                Scalar::Bool => i128::from(x != 0),
                _ => i128::from(x),
            }),
            Some(WireValue::I32(x)) => KeyId::Int(match key {
                Scalar::SFixed32 => i128::from(x as i32),
                _ => i128::from(x),
            }),
            Some(WireValue::I64(x)) => KeyId::Int(match key {
                Scalar::SFixed64 => i128::from(x as i64),
                _ => i128::from(x),
            }),
            Some(WireValue::Group { .. }) | None => match key {
                Scalar::String { .. } => KeyId::Bytes(&[]),
                _ => KeyId::Int(0),
            },
        }
    }

    /// A map key as an error path segment (`"k"`, `"7"`).
    fn key_path(&self, key: Scalar, v: Option<WireValue>) -> String {
        match self.key_id(key, v) {
            KeyId::Bytes(b) => format!("{:?}", String::from_utf8_lossy(b)),
            KeyId::Int(n) if key == Scalar::Bool => format!("\"{}\"", n != 0),
            KeyId::Int(n) => format!("\"{n}\""),
        }
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KeyId<'w> {
    Int(i128),
    Bytes(&'w [u8]),
}
