//! The source record (see `protoland_pipeline_core`'s `provenance`) as an
//! object's attributes: S3 user metadata (`x-amz-meta-protoland-*`), and
//! extended attributes (`user.protoland-*`) on local files.

use std::borrow::Cow;

use object_store::{Attribute, AttributeValue, Attributes};
use protoland_pipeline_core::{Occupant, SourceId, SourceRecord};

/// The record as object attributes (user metadata).
pub(crate) fn attributes(record: &SourceRecord) -> Attributes {
    let mut attributes = Attributes::new();
    for (name, value) in record.fields() {
        attributes.insert(
            Attribute::Metadata(Cow::Borrowed(name)),
            AttributeValue::from(value),
        );
    }
    attributes
}

/// The record on an object, or `None` when it has none.
pub(crate) fn record_of(attributes: &Attributes) -> Option<SourceRecord> {
    SourceRecord::from_fields(|name| {
        attributes
            .get(&Attribute::Metadata(Cow::Borrowed(name)))
            .map(|v| v.as_ref().to_owned())
    })
}

/// Judges an existing object's attributes against `source`.
pub(crate) fn occupant(attributes: &Attributes, source: &SourceId) -> Occupant {
    Occupant::of(record_of(attributes), source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protoland_pipeline_core::SourceKind;

    #[test]
    fn records_round_trip_through_attributes() {
        let record = SourceRecord {
            kind: SourceKind::Landing,
            source: SourceId::s3("raw", "clicks/a b.pb.gz"),
            version: Some("v1".to_owned()),
            etag: Some("\"abc\"".to_owned()),
        };
        let attributes = attributes(&record);
        let back = record_of(&attributes).expect("a record");
        assert_eq!(back.source, record.source);
        assert_eq!(back.etag.as_deref(), Some("abc"));
        assert_eq!(occupant(&attributes, &record.source), Occupant::Same);
        let other = SourceId::s3("raw", "clicks/a b.bin");
        assert_eq!(
            occupant(&attributes, &other),
            Occupant::Other(record.source.clone())
        );
        assert_eq!(occupant(&Attributes::new(), &other), Occupant::Foreign);
        assert_eq!(record_of(&Attributes::new()), None);
    }
}
