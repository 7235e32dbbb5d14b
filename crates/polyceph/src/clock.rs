//! Wall-clock timestamps for envelopes, at a third of the cost of
//! [`SystemTime::now`].
//!
//! Every envelope is stamped when it is made. `SystemTime::now` is a vDSO
//! `clock_gettime`, ~35 ns on the project's VM: two of them were ~8 % of a
//! local request/reply round trip (measured). [`quanta`] reads the CPU's
//! time-stamp counter instead (~12 ns with the conversion), falling back to
//! the monotonic clock where the counter is not reliable.
//!
//! A counter reading is no wall-clock time, so each thread keeps an anchor,
//! a pair of (counter, `SystemTime`) read together, and counts from it; the
//! anchor is renewed every [`RENEW`] and whenever the counter reads earlier
//! than it (a thread moved to a CPU whose counter lags). A timestamp is thus
//! off the wall clock by at most the counter's calibration error over one
//! `RENEW` (quanta's was measured 27 ppm off here: under 0.3 µs), and
//! follows the system clock within one `RENEW` when the clock is set.

use std::cell::Cell;
use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// How long a thread counts from one anchor.
const RENEW: u64 = 10_000_000;

/// Calibrated once per process (~0.6 ms, on the first envelope).
static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);

#[derive(Clone, Copy)]
struct Anchor {
    raw: u64,
    /// Nanoseconds since the Unix epoch at `raw`; 0 before the first anchor.
    nanos: u64,
}

thread_local! {
    static ANCHOR: Cell<Anchor> = const { Cell::new(Anchor { raw: 0, nanos: 0 }) };
}

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn unix_nanos() -> u64 {
    let clock = &*CLOCK;
    let raw = clock.raw();
    ANCHOR.with(|cell| {
        let anchor = cell.get();
        if anchor.nanos != 0 && raw >= anchor.raw {
            let since = clock.delta_as_nanos(anchor.raw, raw);
            if since < RENEW {
                return anchor.nanos + since;
            }
        }
        let nanos = system_nanos();
        cell.set(Anchor { raw, nanos });
        nanos
    })
}

fn system_nanos() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_follow_the_wall_clock() {
        // Within a generous bound of SystemTime read around them, however
        // loaded the test machine: the anchor and its renewal are what is tested.
        for _ in 0..3 {
            let before = system_nanos();
            let stamp = unix_nanos();
            let after = system_nanos();
            assert!(stamp + 1_000_000 >= before && stamp <= after + 1_000_000, "{before} {stamp} {after}");
        }
    }

    #[test]
    fn one_thread_stamps_in_order_within_an_anchor() {
        let mut last = unix_nanos();
        for _ in 0..10_000 {
            let next = unix_nanos();
            let renewed = ANCHOR.with(|cell| cell.get().nanos) == next;
            assert!(next >= last || renewed, "{next} < {last} without a new anchor");
            last = next;
        }
    }

    #[test]
    fn stamps_count_on_from_their_anchor() {
        for _ in 0..100 {
            let first = unix_nanos();
            let anchor = ANCHOR.with(Cell::get);
            // Not a synchronisation: the clock must move for the count to show.
            std::thread::sleep(std::time::Duration::from_millis(2));
            let later = unix_nanos();
            if ANCHOR.with(Cell::get).raw != anchor.raw {
                continue; // renewed meanwhile (a loaded machine): counted nothing
            }
            assert!(later - first >= 1_900_000, "counted {} ns over a 2 ms sleep", later - first);
            return;
        }
        panic!("every try renewed its anchor");
    }

    #[test]
    fn a_counter_reading_before_the_anchor_renews_it() {
        let _ = unix_nanos();
        // As if this thread had moved to a CPU whose counter lags.
        ANCHOR.with(|cell| cell.set(Anchor { raw: u64::MAX, nanos: 1 }));
        let stamp = unix_nanos();
        assert!(stamp > 1, "counted from an anchor the counter is behind");
        assert_ne!(ANCHOR.with(|cell| cell.get().raw), u64::MAX);
    }
}
