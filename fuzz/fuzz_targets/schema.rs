//! `cargo fuzz run schema`: see `protoland_fuzz::schema`.
#![no_main]

#[global_allocator]
static ALLOC: protoland_fuzz::alloc::Counting = protoland_fuzz::alloc::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    protoland_fuzz::schema::run(data);
});
