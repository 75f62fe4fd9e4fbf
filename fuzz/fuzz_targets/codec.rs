//! The value codec: property values and property lists from arbitrary bytes. What
//! decodes must re-encode to bytes that decode again and encode to the same bytes
//! (bytes, not values, are compared: a NaN is not equal to itself).
#![no_main]

use engine_api::codec::{
    Decoder, decode_properties, decode_value, encode_properties, encode_value,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = decode_value(data) {
        let mut once = Vec::new();
        encode_value(&v, &mut once);
        let back = decode_value(&once).expect("an encoded value decodes");
        let mut twice = Vec::new();
        encode_value(&back, &mut twice);
        assert_eq!(once, twice, "a value survives a round trip");
    }
    if let Ok(props) = decode_properties(data) {
        let encode = |props: &[(u32, engine_api::PropertyValue)]| {
            let mut out = Vec::new();
            encode_properties(props.iter().map(|(k, v)| (*k, v)), &mut out);
            out
        };
        let once = encode(&props);
        let back = decode_properties(&once).expect("an encoded property list decodes");
        assert_eq!(once, encode(&back), "a property list survives a round trip");
    }
    // The decoder's pieces, in any order the bytes pick.
    let mut d = Decoder::new(data);
    let mut previous = None;
    while !d.is_empty() {
        let step = match d.bytes(1) {
            Ok(b) => b[0] % 5,
            Err(_) => break,
        };
        let ok = match step {
            0 => d.uvarint().is_ok(),
            1 => d.svarint().is_ok(),
            2 => d.value().is_ok(),
            3 => d.skip_value().is_ok(),
            _ => match d.property_key(previous) {
                Ok(k) => {
                    previous = k;
                    true
                }
                Err(_) => false,
            },
        };
        if !ok {
            break;
        }
    }
});
