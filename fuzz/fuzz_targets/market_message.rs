//! The market topic's messages as gossip delivers them (`MarketMessage::from_bytes_checked`,
//! limit `MARKET_MESSAGE_BYTES_MAX`), which every node runs before it forwards a message: no
//! input panics, and a request, offer, envelope chain or reveal that passes its checks (bounds,
//! signatures, links) is canonical and round-trips. (A reveal's bytes are checked against the
//! settled bounty afterwards, by the network's chain worker: that needs root state.)
#![no_main]

use bitverse_fuzz::assert_canonical;
use bitverse_market_wire::{MARKET_MESSAGE_BYTES_MAX, MarketMessage};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(message) = MarketMessage::from_bytes_checked(data) else {
        return;
    };
    assert_canonical("market message", data, &message, MARKET_MESSAGE_BYTES_MAX);
});
