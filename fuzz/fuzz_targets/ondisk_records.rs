//! engine-ondisk's keys and values as read back from RocksDB: the first byte picks
//! the decoder (vertex record, edge record, id key, adjacency key, label key, index
//! entry key, schema catalog), the rest is its input. Built without RocksDB
//! (engine-ondisk without its `storage` feature). What decodes must re-encode to
//! bytes that decode to the same thing; a vertex record's labels are ascending.
#![no_main]

use engine_ondisk::keys::{
    EdgeValue, OUT, StoredCatalog, VertexRecord, adjacency_key, decode_adjacency_key,
    decode_id_key, decode_label_key, entry_object, id_key, label_key, vertex_props,
};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 8] = [0; 8];

fuzz_target!(|data: &[u8]| {
    let Some((&which, input)) = data.split_first() else {
        return;
    };
    match which % 7 {
        0 => {
            if let Ok(record) = VertexRecord::decode(&KEY, input) {
                assert!(record.labels.windows(2).all(|w| w[0] < w[1]));
                let props = vertex_props(&KEY, input).expect("a decoded record's properties");
                assert_eq!(props, &record.props[..], "the two readers agree");
                let again = VertexRecord::decode(&KEY, &record.encode()).expect("re-encoded");
                assert_eq!(again, record);
            }
        }
        1 => {
            if let Ok(edge) = EdgeValue::decode(&KEY, input) {
                let again = EdgeValue::decode(&KEY, &edge.encode()).expect("re-encoded");
                assert_eq!(again, edge);
            }
        }
        2 => {
            if let Ok(id) = decode_id_key("vertices", input) {
                assert_eq!(&id_key(id)[..], input);
            }
        }
        3 => {
            if let Ok((v, t, o, e)) = decode_adjacency_key(OUT, input) {
                assert_eq!(&adjacency_key(v, t, o, e)[..], input);
            }
        }
        4 => {
            if let Ok(v) = decode_label_key(input) {
                assert_eq!(
                    &label_key(
                        u32::from_be_bytes([input[0], input[1], input[2], input[3]]),
                        v
                    )[..],
                    input
                );
            }
        }
        5 => {
            if let Ok(id) = entry_object(input) {
                assert_eq!(input[input.len() - 8..], id.to_be_bytes());
            }
        }
        _ => {
            if let Ok(catalog) = StoredCatalog::decode(input) {
                let again = StoredCatalog::decode(&catalog.encode()).expect("re-encoded");
                assert_eq!(again, catalog);
            }
        }
    }
});
