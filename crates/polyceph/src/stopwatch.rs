//! A tic-toc stopwatch on the monotonic clock.

use std::time::Duration;

use tokio::time::Instant;

/// A stopwatch: [`tic`](Stopwatch::tic) starts it, [`toc`](Stopwatch::toc)
/// reads the time since, [`lap`](Stopwatch::lap) reads the time since the
/// last lap and starts the next one.
///
/// It reads Tokio's monotonic clock, so it never goes backwards and it
/// follows paused time in tests (`tokio::time::pause`). The actor loop times
/// `life` with it to detect overruns.
///
/// # Examples
///
/// ```
/// use polyceph::{Resolution, Stopwatch};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut watch = Stopwatch::new();
/// tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
/// assert_eq!(watch.toc_in(Resolution::Millis), 1500);
/// assert_eq!(watch.toc_secs(), 1.5);
/// assert_eq!(watch.lap().as_millis(), 1500);
/// assert_eq!(watch.lap().as_millis(), 0);
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch {
    start: Instant,
    lap: Instant,
}

/// A unit in which to read a [`Stopwatch`] as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resolution {
    /// Whole seconds.
    Seconds,
    /// Milliseconds.
    Millis,
    /// Microseconds.
    Micros,
    /// Nanoseconds.
    Nanos,
}

impl Stopwatch {
    /// A stopwatch started now.
    pub fn new() -> Self {
        let now = Instant::now();
        Self { start: now, lap: now }
    }

    /// Starts (or restarts) the stopwatch now.
    pub fn tic(&mut self) {
        *self = Self::new();
    }

    /// The time since the last [`tic`](Stopwatch::tic).
    pub fn toc(&self) -> Duration {
        self.start.elapsed()
    }

    /// The time since the last `tic`, in whole units of `resolution`.
    pub fn toc_in(&self, resolution: Resolution) -> u128 {
        let elapsed = self.toc();
        match resolution {
            Resolution::Seconds => u128::from(elapsed.as_secs()),
            Resolution::Millis => elapsed.as_millis(),
            Resolution::Micros => elapsed.as_micros(),
            Resolution::Nanos => elapsed.as_nanos(),
        }
    }

    /// The time since the last `tic`, in seconds as a float (the seed's `sf`).
    pub fn toc_secs(&self) -> f64 {
        self.toc().as_secs_f64()
    }

    /// The time since the last lap (or `tic`), starting the next lap.
    pub fn lap(&mut self) -> Duration {
        let now = Instant::now();
        let lap = now - self.lap;
        self.lap = now;
        lap
    }

    /// When the stopwatch was started.
    pub fn started(&self) -> Instant {
        self.start
    }
}

impl Default for Stopwatch {
    fn default() -> Self {
        Self::new()
    }
}
