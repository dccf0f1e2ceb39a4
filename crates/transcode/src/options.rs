/// How the JSON is written. The default of every option is the canonical
/// ProtoJSON mapping, as Google's libraries print it with no options set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct JsonOptions {
    /// Use the `.proto` field names (`user_id`) instead of the JSON names
    /// (`userId`, or the `json_name` option). Python's
    /// `preserving_proto_field_name`, Go's `UseProtoNames`. Default: off.
    pub proto_names: bool,
    /// Print fields without presence even when they hold their default
    /// (`0`, `""`, `false`, the first enum value, empty lists and maps).
    /// Python's `always_print_fields_with_no_presence`, Go's
    /// `EmitUnpopulated`. Default: off, so output stays small.
    pub emit_defaults: bool,
    /// Print enum values as numbers instead of names. Python's
    /// `use_integers_for_enums`, Go's `UseEnumNumbers`. Default: off.
    pub enum_numbers: bool,
}
