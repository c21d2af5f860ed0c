//! Link options for the `bitverse` binary: packed relative relocations on Linux with glibc.
//!
//! Every client command (`bitverse status`, `put`, …) starts the whole program, and before
//! `main` runs the dynamic loader applies one relative relocation per pointer the binary holds
//! (vtables, string tables, panic locations): ~90,000 of them, a 2 MB table read page by page.
//! RELR (`-z pack-relative-relocs`, GNU ld 2.38 and glibc 2.36, Debian 12's) stores them as
//! bitmaps of a few kilobytes. An older ld ignores the option with a warning.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
