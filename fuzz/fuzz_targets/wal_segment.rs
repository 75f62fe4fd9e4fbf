//! A WAL segment from arbitrary bytes, read as the newest segment (where a torn tail
//! is expected) and as an older one (where it is damage). The first byte picks
//! whether the checksums are repaired first (see the crate docs), so the record
//! decoders behind them are reached.
#![no_main]

use durability::wal::{SegmentRead, read_segment, read_segment_header};
use libfuzzer_sys::fuzz_target;
use quiver_fuzz::{moded, repair_wal, scratch_file};

fuzz_target!(|data: &[u8]| {
    let bytes = moded(data, repair_wal);
    let path = scratch_file("00000000000000000001.wal", &bytes);
    let _ = read_segment_header(&path);
    let newest = read_segment(&path, true);
    let older = read_segment(&path, false);
    if let Ok(SegmentRead::Read {
        valid_len,
        file_len,
        records,
        ..
    }) = &older
    {
        // Read as an older segment, nothing may be cut off: a torn tail is an error.
        assert_eq!(valid_len, file_len, "an older segment read whole");
        match &newest {
            Ok(SegmentRead::Read { records: r2, .. }) => {
                assert_eq!(r2.len(), records.len(), "both readings agree");
            }
            other => panic!("read whole as an older segment, but as the newest: {other:?}"),
        }
    }
    if let Ok(SegmentRead::Read {
        valid_len,
        file_len,
        ..
    }) = newest
    {
        assert!(valid_len <= file_len);
    }
});
