//! Declares the `fuzzing` cfg, which cargo-fuzz (`scripts/fuzz`) passes to every crate: under it
//! `p2p` exposes its sync decoders and state machine to the fuzz targets (`lib.rs`, `fuzzing`).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(fuzzing)");
}
