//! The well-known types that are read field by field before printing:
//! Timestamp and Duration (seconds and nanos), FieldMask (its paths) and
//! Any (its type URL and payload).

use super::read::{Fields, R, utf8};
use super::state::Src;
use super::walker::{MAX_NESTING, Walker};
use crate::error::{ErrorKind, Fault};
use crate::wire::{self, LEN, VARINT};
use crate::wkt::{self, Wkt};
use crate::write;

impl<'a> Walker<'a, '_> {
    pub(super) fn seconds_nanos(&mut self, src: Src, depth: u32) -> R<(i64, i32)> {
        // The usual encoding: seconds then nanos, once each, or either
        // alone.
        // (Straight-line code: as a closure called twice, LLVM kept it
        // out of line.)
        if let Src::One(start, end) = src {
            let data = &self.buf[..end];
            let mut p = start;
            let (mut seconds, mut nanos) = (0, 0);
            let mut ok = true;
            if data.get(p) == Some(&0x08) {
                p += 1;
                match wire::varint(data, &mut p) {
                    Ok(v) => seconds = v,
                    Err(_) => ok = false,
                }
            }
            if ok && data.get(p) == Some(&0x10) {
                p += 1;
                match wire::varint(data, &mut p) {
                    Ok(v) => nanos = v,
                    Err(_) => ok = false,
                }
            }
            // (Anything else, errors included, takes the general way.)
            if ok && p == end {
                return Ok((seconds as i64, nanos as u32 as i32));
            }
        }
        let (mut seconds, mut nanos) = (0i64, 0i32);
        for k in 0..src.count() {
            let (start, end) = self.span(src, k);
            let mut it = Fields::new(self.buf, start, end, depth);
            while it.more() {
                let at = it.p;
                let (num, wt) = it.tag()?;
                let v = it.value(num, wt, at)?;
                match (num, wt) {
                    (1, VARINT) => seconds = v.bits as i64,
                    (2, VARINT) => nanos = v.bits as u32 as i32,
                    _ => {}
                }
            }
        }
        Ok((seconds, nanos))
    }

    pub(super) fn field_mask(&mut self, src: Src, depth: u32, out: &mut Vec<u8>) -> R<()> {
        let mut text = std::mem::take(&mut self.s.text);
        text.clear();
        let mut first = true;
        let mut result = Ok(());
        'spans: for k in 0..src.count() {
            let (start, end) = self.span(src, k);
            let mut it = Fields::new(self.buf, start, end, depth);
            while it.more() {
                let at = it.p;
                let step = it
                    .tag()
                    .and_then(|(num, wt)| Ok((num, wt, it.value(num, wt, at)?)));
                let (num, wt, v) = match step {
                    Ok(x) => x,
                    Err(e) => {
                        result = Err(e);
                        break 'spans;
                    }
                };
                if (num, wt) != (1, LEN) {
                    continue;
                }
                if let Err(e) = utf8(self.buf, v.start, v.end) {
                    result = Err(e.in_field(format_args!("paths")));
                    break 'spans;
                }
                if !first {
                    text.push(b',');
                }
                first = false;
                let path = std::str::from_utf8(&self.buf[v.start..v.end]).unwrap_or("");
                if out.len().saturating_add(text.len()) > self.cap {
                    result = Err(self.over_limit(v.start).in_field(format_args!("paths")));
                    break 'spans;
                }
                if let Err(reason) = wkt::field_mask_path(&mut text, path) {
                    result = Err(self.refuse(
                        ErrorKind::InvalidWellKnown {
                            type_name: "google.protobuf.FieldMask",
                            reason,
                        },
                        v.start,
                    ));
                    break 'spans;
                }
            }
        }
        if result.is_ok() {
            result = self.room_for(out, write::json_string_len(&text), src.first_start(self.s));
        }
        if result.is_ok() {
            write::string(out, &text);
        }
        self.s.text = text;
        result
    }

    pub(super) fn any(&mut self, src: Src, depth: u32, out: &mut Vec<u8>) -> R<()> {
        let mut url = (0usize, 0usize);
        let mut value = (0usize, 0usize);
        for k in 0..src.count() {
            let (start, end) = self.span(src, k);
            let mut it = Fields::new(self.buf, start, end, depth);
            while it.more() {
                let at = it.p;
                let (num, wt) = it.tag()?;
                let v = it.value(num, wt, at)?;
                match (num, wt) {
                    (1, LEN) => {
                        utf8(self.buf, v.start, v.end)
                            .map_err(|e| e.in_field(format_args!("@type")))?;
                        url = (v.start, v.end);
                    }
                    (2, LEN) => value = (v.start, v.end),
                    _ => {}
                }
            }
        }
        let url_bytes = &self.buf[url.0..url.1];
        if url_bytes.is_empty() && value.0 == value.1 {
            // Nothing set: Python prints `{}`.
            out.extend_from_slice(b"{}");
            return Ok(());
        }
        let url_text = std::str::from_utf8(url_bytes).unwrap_or("");
        let name = url_text.rsplit('/').next().unwrap_or("");
        let Some(&ty) = self.c.by_name.get(name) else {
            return Err(self.refuse(
                ErrorKind::UnresolvableAny(url_text.to_owned()),
                src.first_start(self.s),
            ));
        };
        self.string_room(out, url.0, url.1)?;
        out.extend_from_slice(b"{\"@type\":");
        write::string(out, url_bytes);
        let payload = Src::One(value.0, value.1);
        let c = self.c;
        let pt = &c.types[ty as usize];
        // Google parses the payload on its own: its depth starts at 0. It
        // counts as a level of nesting (as it does for Python's recursion).
        let result = if pt.wkt == Wkt::None {
            if self.nesting >= MAX_NESTING {
                return Err(Fault::new(
                    ErrorKind::TooDeep(MAX_NESTING as usize),
                    value.0,
                ));
            }
            self.nesting += 1;
            let r = self.fields(pt, payload, 0, out, true).map(|_| ());
            self.nesting -= 1;
            r
        } else {
            out.extend_from_slice(b",\"value\":");
            self.message(ty, payload, 0, out)
                .map_err(|e| e.in_field(format_args!("value")))
        };
        match result {
            // Python parses the payload only when printing, so a bad
            // payload in an Any that a later field overwrites is no error:
            // let slow mode decide.
            Err(Fault::Error(_)) if !self.slow => return Err(Fault::Bail),
            r => r?,
        }
        out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Wire, json, plan};

    const WKT: &str = "import \"google/protobuf/timestamp.proto\"; \
        import \"google/protobuf/duration.proto\"; \
        import \"google/protobuf/field_mask.proto\"; \
        import \"google/protobuf/any.proto\"; \
        message Inner { int32 n = 1; } \
        message M { google.protobuf.Timestamp t = 1; google.protobuf.Duration d = 2; \
        google.protobuf.FieldMask m = 3; google.protobuf.Any a = 4; }";

    fn seconds_nanos(seconds: i64, nanos: i32) -> Wire {
        Wire::new()
            .varint(1, seconds as u64)
            .varint(2, nanos as u32 as u64)
    }

    #[test]
    fn timestamp_and_duration_print_as_strings() {
        let p = plan(WKT, "M");
        let wire = Wire::new()
            .message(1, seconds_nanos(1_700_000_000, 500_000_000))
            .message(2, seconds_nanos(-1, -500_000_000));
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(r#"{"t":"2023-11-14T22:13:20.500Z","d":"-1.500s"}"#)
        );
    }

    #[test]
    fn seconds_and_nanos_out_of_order_read_the_same() {
        let p = plan(WKT, "M");
        let wire = Wire::new().message(1, Wire::new().varint(2, 1_000).varint(1, 60));
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(r#"{"t":"1970-01-01T00:01:00.000001Z"}"#)
        );
    }

    #[test]
    fn refuses_a_timestamp_past_year_9999() {
        let p = plan(WKT, "M");
        let wire = Wire::new().message(1, seconds_nanos(253_402_300_800, 0));
        let err = json(&p, &wire).expect_err("year 10000");
        assert!(
            err.starts_with("invalid google.protobuf.Timestamp: "),
            "{err}"
        );
    }

    #[test]
    fn field_mask_paths_print_in_camel_case() {
        let p = plan(WKT, "M");
        let wire = Wire::new().message(3, Wire::new().bytes(1, b"a_b.c").bytes(1, b"d"));
        assert_eq!(json(&p, &wire).as_deref(), Ok(r#"{"m":"aB.c,d"}"#));
    }

    #[test]
    fn any_prints_its_type_and_payload() {
        let p = plan(WKT, "M");
        let any = Wire::new()
            .bytes(1, b"type.googleapis.com/t.Inner")
            .message(2, Wire::new().varint(1, 5));
        let wire = Wire::new().message(4, any);
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(r#"{"a":{"@type":"type.googleapis.com/t.Inner","n":5}}"#)
        );
    }

    #[test]
    fn refuses_an_any_of_an_unknown_type() {
        let p = plan(WKT, "M");
        let any = Wire::new().bytes(1, b"type.googleapis.com/t.Nope");
        let err = json(&p, &Wire::new().message(4, any)).expect_err("unknown type");
        assert!(
            err.starts_with("Any type URL `type.googleapis.com/t.Nope` does not name"),
            "{err}"
        );
    }
}
