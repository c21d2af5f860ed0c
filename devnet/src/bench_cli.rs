//! `bitverse bench cli`: a client command's fixed cost, against its RPC round trips.
//!
//! Starts one dev node, then runs, interleaved so that the machine's noise falls on each alike:
//! `bitverse --version` (the program's start and exit, no RPC), `bitverse status` (two RPC
//! calls, `bv_status` and `bv_networkStatus`, on one connection), the same two calls sent by
//! hand on a fresh TCP connection (the round trips alone: the floor any client pays), and
//! `/bin/true` (what starting any process costs here), and `status` run by the whole program,
//! `bitverse-full`, which links the node (what every command cost before `bitverse` became a
//! client of its own). A command's fixed cost is `status` minus the round trips; issue 17 §9
//! bounds it at 2 ms.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use crate::bench_network::work_dir;
use crate::devnet::{NodeLaunch, start_node};
use bitverse_node::tools::CliBenchOptions;

/// The bound issue 17 §9 sets on a client command's cost over its RPC round trips.
const FIXED_COST_BOUND_MS: f64 = 2.0;
/// How long the hand-made round trip waits for an answer before the bench gives up.
const RUN_TIMEOUT_MS: u64 = 10_000;
/// Largest HTTP response the hand-made round trip reads: a status answer is a few hundred bytes.
const RESPONSE_BYTES_MAX: usize = 64 * 1024;
/// Runs before measuring, so that the binary's pages are in the page cache.
const WARM_UP_RUNS: usize = 5;

/// The things measured, in the order they run within a round.
const MEASURES: [&str; 5] = [
    "version",
    "status",
    "rpc_round_trips",
    "true",
    "full_program_status",
];

pub(crate) async fn run(options: CliBenchOptions) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || measure(&options))
        .await
        .context("the bench's thread failed")?
}

fn measure(options: &CliBenchOptions) -> anyhow::Result<()> {
    if options.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let exe = crate::bitverse_exe()?;
    let (dir, _temp) = work_dir(options.dir.as_deref())?;
    let node = start_node(&exe, &dir.join("node-0"), &NodeLaunch::dev_sealer())?;
    let addr = node
        .rpc_url
        .strip_prefix("http://")
        .with_context(|| format!("unexpected RPC URL {:?}", node.rpc_url))?
        .trim_end_matches('/')
        .to_owned();
    if !options.json {
        eprintln!(
            "measuring {} runs of each against a dev node at {}",
            options.runs, node.rpc_url
        );
    }
    let full = exe.with_file_name(bitverse_client::program::FULL_PROGRAM);
    let mut samples: [Vec<f64>; 5] = Default::default();
    for round in 0..WARM_UP_RUNS + options.runs {
        let timings = [
            time_process(&exe, &["--version"])?,
            time_process(&exe, &["status", "--rpc", &node.rpc_url])?,
            time_round_trips(&addr)?,
            time_process(Path::new("/bin/true"), &[])?,
            time_process(&full, &["status", "--rpc", &node.rpc_url])?,
        ];
        if round >= WARM_UP_RUNS {
            for (sample, ms) in samples.iter_mut().zip(timings) {
                sample.push(ms);
            }
        }
    }
    for sample in &mut samples {
        sample.sort_by(f64::total_cmp);
    }
    let p50 = |i: usize| percentile(&samples[i], 50);
    let p90 = |i: usize| percentile(&samples[i], 90);
    let over_round_trips_ms = p50(1) - p50(2);
    if options.json {
        let mut measures = serde_json::Map::new();
        for (i, name) in MEASURES.iter().enumerate() {
            measures.insert(
                (*name).to_owned(),
                json!({ "p50_ms": p50(i), "p90_ms": p90(i), "min_ms": samples[i][0] }),
            );
        }
        println!(
            "{}",
            json!({
                "runs": options.runs,
                "measures": measures,
                "status_over_round_trips_ms": over_round_trips_ms,
                "bound_ms": FIXED_COST_BOUND_MS,
                "ratio_to_bound": over_round_trips_ms / FIXED_COST_BOUND_MS,
            })
        );
    } else {
        println!("{:<40} {:>9} {:>9} {:>9}", "", "p50 ms", "p90 ms", "min ms");
        let labels = [
            "bitverse --version",
            "bitverse status",
            "its 2 RPC calls, fresh connection",
            "/bin/true",
            "bitverse-full status (the node linked)",
        ];
        for (i, label) in labels.iter().enumerate() {
            println!(
                "{label:<40} {:>9.3} {:>9.3} {:>9.3}",
                p50(i),
                p90(i),
                samples[i][0]
            );
        }
        println!(
            "status over its round trips: {over_round_trips_ms:.3} ms p50, {:.2} of the {FIXED_COST_BOUND_MS} ms bound",
            over_round_trips_ms / FIXED_COST_BOUND_MS
        );
    }
    Ok(())
}

/// Milliseconds from spawning `program` to reaping it, output discarded; fails on a non-zero
/// exit. A blocking wait, so that no polling interval blurs the figure; every program measured
/// ends by itself (`status` gives up on the node after the CLI's RPC timeout).
fn time_process(program: &Path, args: &[&str]) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", program.display()))?;
    let status = child.wait()?;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if !status.success() {
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            err.read_to_string(&mut stderr).ok();
        }
        bail!(
            "{} {args:?} failed ({status}): {}",
            program.display(),
            stderr.trim()
        );
    }
    Ok(elapsed_ms)
}

/// Milliseconds for `status`'s two calls on a fresh connection: connect, then each request
/// written and its whole response read before the next, as the CLI's client does.
fn time_round_trips(addr: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let stream = TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_millis(RUN_TIMEOUT_MS)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    for (id, method) in [(1, "bv_status"), (2, "bv_networkStatus")] {
        let body =
            json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": [] }).to_string();
        write!(
            writer,
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        writer.flush()?;
        let answer = read_response(&mut reader)?;
        if !answer.contains("\"result\"") {
            bail!("{method} answered without a result: {answer}");
        }
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// One HTTP/1.1 response with a Content-Length (what the node's server sends): its body. Headers
/// and body are each bounded by [`RESPONSE_BYTES_MAX`].
fn read_response(reader: &mut impl BufRead) -> anyhow::Result<String> {
    let mut length = None;
    let mut line = String::new();
    let mut header_bytes = 0;
    loop {
        line.clear();
        let read = Read::take(&mut *reader, RESPONSE_BYTES_MAX as u64).read_line(&mut line)?;
        if read == 0 {
            bail!("the node closed the connection mid-response");
        }
        header_bytes += read;
        if header_bytes > RESPONSE_BYTES_MAX {
            bail!("response headers over {RESPONSE_BYTES_MAX} bytes");
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = Some(value.trim().parse::<usize>()?);
        }
    }
    let length = length.context("a response without Content-Length")?;
    if length > RESPONSE_BYTES_MAX {
        bail!("a response of {length} bytes, over {RESPONSE_BYTES_MAX}");
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The `pct`-th percentile of sorted `samples` (nearest rank).
fn percentile(samples: &[f64], pct: usize) -> f64 {
    let rank = (samples.len() * pct).div_ceil(100).max(1);
    samples.get(rank - 1).copied().unwrap_or(f64::NAN)
}
