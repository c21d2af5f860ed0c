//! The market ledger's stored and quoted values (`ReliabilityRecord::from_bytes`, limit
//! `RECORD_SIZE_BYTES_MAX`; `PriceQuote::from_bytes`, limit `QUOTE_SIZE_BYTES_MAX`): no input
//! panics; what decodes is canonical and round-trips; a decoded record's decay and estimate at
//! any height never panic.
#![no_main]

use bitverse_fuzz::assert_canonical;
use bitverse_pricing::{LedgerParams, PriceQuote, RECORD_SIZE_BYTES_MAX, ReliabilityRecord};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (record_bytes, height_bytes) = data.split_at(data.len().min(RECORD_SIZE_BYTES_MAX));
    if let Ok(record) = ReliabilityRecord::from_bytes(record_bytes) {
        assert_canonical(
            "reliability record",
            record_bytes,
            &record,
            RECORD_SIZE_BYTES_MAX,
        );
        let height = height_bytes
            .first_chunk::<8>()
            .map_or(0, |h| u64::from_le_bytes(*h));
        let _ = record.estimate_at(height, &LedgerParams::DEFAULT);
        let _ = record.estimate(&LedgerParams::DEFAULT).reputation_ppm();
    }
    if let Ok(quote) = PriceQuote::from_bytes(data) {
        assert_canonical(
            "price quote",
            data,
            &quote,
            bitverse_pricing::QUOTE_SIZE_BYTES_MAX,
        );
    }
});
