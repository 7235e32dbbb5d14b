//! CPU time of a process, shared by the benchmarks of every crate
//! (included by path: `#[path = ...] mod cpu;`).

use std::time::Duration;

/// The CPU time (user and system, all threads) process `pid` has used, in
/// steps of 10 ms: `/proc/<pid>/stat` counts in `USER_HZ`, 100 per second
/// on Linux.
pub(crate) fn cpu_time(pid: u32) -> std::io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |at: usize| fields.get(at).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Ok(Duration::from_millis((ticks(11) + ticks(12)) * 10))
}
