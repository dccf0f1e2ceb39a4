//! What a field or an enum does on the wire and in JSON, whatever its file's
//! syntax or edition.
//!
//! For proto2 and proto3 files the answers follow from the syntax. Editions
//! files reach the pool lowered to proto2 (see the `editions` module), with
//! their resolved features written into each field's and enum's options;
//! these functions read them back. Use them instead of
//! [`FieldDescriptor::supports_presence`] and [`FileDescriptor::syntax`]
//! (which say "proto2" for an editions file).
//!
//! [`FileDescriptor::syntax`]: prost_reflect::FileDescriptor::syntax

use prost::Message;
use prost_reflect::{DynamicMessage, EnumDescriptor, ExtensionDescriptor, FieldDescriptor, Syntax};

use crate::editions::{self, EnumOptionsView, FieldOptionsView};

/// How a field behaves, resolved from its file's syntax or its features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldFeatures {
    /// A singular field that tracks presence: set at its default value it
    /// is still printed, and `always_print_fields_with_no_presence` leaves
    /// it out when absent. False for repeated and map fields, and for
    /// proto3 fields without `optional` and editions fields with
    /// `field_presence = IMPLICIT` (printed only when not the default).
    pub explicit_presence: bool,
    /// A `string` field whose UTF-8 Google's parser verifies (proto3, and
    /// editions with `utf8_validation = VERIFY`, the default). Invalid UTF-8
    /// in the others is accepted and printed as Python prints the bytes.
    pub utf8_verified: bool,
}

/// The features of a field of a message.
pub fn field_features(field: &FieldDescriptor) -> FieldFeatures {
    resolve(
        field.parent_file().syntax(),
        field.supports_presence(),
        || field.options(),
    )
}

/// The features of an extension field (presence is always explicit for a
/// singular extension).
pub fn extension_features(extension: &ExtensionDescriptor) -> FieldFeatures {
    resolve(
        extension.parent_file().syntax(),
        extension.supports_presence(),
        || extension.options(),
    )
}

/// Whether the enum is closed: a number it does not declare is kept as an
/// unknown field instead of being printed as a number (proto2, and editions
/// with `enum_type = CLOSED`).
pub fn enum_is_closed(e: &EnumDescriptor) -> bool {
    match e.parent_file().syntax() {
        Syntax::Proto2 => {
            let options =
                EnumOptionsView::decode(e.options().encode_to_vec().as_slice()).unwrap_or_default();
            match options.features.and_then(|f| f.enum_type) {
                Some(enum_type) => enum_type == editions::CLOSED,
                None => true,
            }
        }
        _ => false,
    }
}

/// A field's features: from the syntax, or for an editions file (lowered
/// to proto2) from the features the lowering wrote into its `options`.
fn resolve(
    syntax: Syntax,
    supports_presence: bool,
    options: impl FnOnce() -> DynamicMessage,
) -> FieldFeatures {
    let resolved = (syntax == Syntax::Proto2)
        .then(options)
        .and_then(|o| FieldOptionsView::decode(o.encode_to_vec().as_slice()).ok())
        .and_then(|view| view.features);
    match resolved {
        Some(features) => FieldFeatures {
            explicit_presence: supports_presence
                && features.field_presence != Some(editions::IMPLICIT),
            utf8_verified: features.utf8_validation == Some(editions::VERIFY),
        },
        None => FieldFeatures {
            explicit_presence: supports_presence,
            utf8_verified: syntax == Syntax::Proto3,
        },
    }
}
