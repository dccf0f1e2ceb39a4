//! The obvious Rust approach, as a baseline: compile the schema at run time
//! (protox), then for every varint-delimited message in a gzip file decode a
//! prost-reflect `DynamicMessage` and serialize it with serde_json, one line
//! each, to stdout.
//!
//! ```text
//! reflect-json -s SCHEMA.proto [-I DIR]... -m MESSAGE FILE.gz
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use prost_reflect::{DynamicMessage, SerializeOptions};
use protoland_bench::frames::FrameReader;
use protoland_bench::generate::Framing;

fn main() -> Result<()> {
    let mut schema = None;
    let mut includes: Vec<PathBuf> = Vec::new();
    let mut message = None;
    let mut input = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("-s") => schema = args.next().map(PathBuf::from),
            Some("-I") => includes.extend(args.next().map(PathBuf::from)),
            Some("-m") => message = args.next().and_then(|m| m.into_string().ok()),
            _ => input = Some(PathBuf::from(arg)),
        }
    }
    let (Some(schema), Some(message), Some(input)) = (schema, message, input) else {
        bail!("usage: reflect-json -s SCHEMA.proto [-I DIR]... -m MESSAGE FILE.gz");
    };
    if includes.is_empty() {
        includes.push(schema.parent().map(PathBuf::from).unwrap_or_default());
    }
    let relative = includes
        .iter()
        .find_map(|dir| schema.strip_prefix(dir).ok())
        .unwrap_or(&schema)
        .to_owned();
    let pool = protox::Compiler::new(&includes)?
        .open_file(&relative)
        .with_context(|| format!("compiling {}", schema.display()))?
        .descriptor_pool();
    let desc = pool
        .get_message_by_name(&message)
        .with_context(|| format!("no message type `{message}` in {}", schema.display()))?;

    let file = File::open(&input).with_context(|| format!("opening {}", input.display()))?;
    let mut frames = FrameReader::new(flate2::read::MultiGzDecoder::new(file), Framing::Varint);
    let mut out = BufWriter::with_capacity(256 << 10, io::stdout().lock());
    let options = SerializeOptions::new();
    let mut frame = Vec::new();
    let mut index = 0u64;
    while frames.read_frame(&mut frame)? {
        let msg = DynamicMessage::decode(desc.clone(), frame.as_slice())
            .with_context(|| format!("decoding message {index}"))?;
        let mut ser = serde_json::Serializer::new(&mut out);
        msg.serialize_with_options(&mut ser, &options)?;
        out.write_all(b"\n")?;
        index += 1;
    }
    out.flush()?;
    Ok(())
}
