//! Schema definitions (indexes, constraints, triggers) as the WAL and snapshots carry
//! them. What decodes must re-encode to bytes that decode to the same definition.
#![no_main]

use durability::schema::{decode_schema_op, encode_schema_op};
use engine_api::codec::Decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut d = Decoder::new(data);
    if let Ok(op) = decode_schema_op(&mut d) {
        let mut once = Vec::new();
        encode_schema_op(&op, &mut once);
        let back = decode_schema_op(&mut Decoder::new(&once)).expect("an encoded op decodes");
        assert_eq!(back, op, "a schema op survives a round trip");
    }
});
