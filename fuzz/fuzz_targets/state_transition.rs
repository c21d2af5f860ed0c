//! The state transition under arbitrary sequences of signed transactions of every kind, dev
//! sealing, merged mining, root reorgs and restarts (`bitverse_fuzz::state`): nothing panics,
//! money is conserved after every root block, a replica accepts every block and ends at the
//! same tips, and a restart resumes at them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bitverse_fuzz::state::run(data);
});
