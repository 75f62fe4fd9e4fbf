//! The backup manifest (`quiver-backup.json`): JSON of the right shape, its own
//! CRC-32 and the format version, or `Corrupt`. What decodes must re-encode to a
//! manifest that decodes to the same thing.
#![no_main]

use durability::manifest::Manifest;
use engine_api::ErrorKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Manifest::decode(data, "manifest") {
        Ok(m) => {
            let bytes = m.encode().expect("a decoded manifest encodes");
            assert_eq!(Manifest::decode(&bytes, "again").expect("re-encoded"), m);
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}"),
    }
});
