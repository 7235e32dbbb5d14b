//! Proves that the `Stopwatch` reads Tokio's monotonic clock (so it follows
//! paused time exactly): `toc` and `toc_in` read the time since `tic`, `lap`
//! the time since the last lap, and `tic` restarts both.

use std::time::Duration;

use polyceph::{Resolution, Stopwatch};
use tokio::time::{Instant, advance};

#[tokio::test(start_paused = true)]
async fn toc_reads_the_time_since_the_start() {
    let watch = Stopwatch::new();
    assert_eq!(watch.toc(), Duration::ZERO, "paused: no time passes by itself");
    assert_eq!(watch.started(), Instant::now());

    advance(Duration::from_micros(1_500_250)).await;
    assert_eq!(watch.toc(), Duration::from_micros(1_500_250));
    assert_eq!(watch.toc_in(Resolution::Seconds), 1);
    assert_eq!(watch.toc_in(Resolution::Millis), 1_500);
    assert_eq!(watch.toc_in(Resolution::Micros), 1_500_250);
    assert_eq!(watch.toc_in(Resolution::Nanos), 1_500_250_000);
    assert!((watch.toc_secs() - 1.500_25).abs() < 1e-12, "{}", watch.toc_secs());

    // Reading does not reset it.
    advance(Duration::from_millis(500)).await;
    assert_eq!(watch.toc(), Duration::from_micros(2_000_250));
}

#[tokio::test(start_paused = true)]
async fn toc_in_truncates_to_whole_units() {
    let watch = Stopwatch::default();
    advance(Duration::from_nanos(2_999_999_999)).await;
    assert_eq!(watch.toc_in(Resolution::Seconds), 2);
    assert_eq!(watch.toc_in(Resolution::Millis), 2_999);
    assert_eq!(watch.toc_in(Resolution::Micros), 2_999_999);
    assert_eq!(watch.toc_in(Resolution::Nanos), 2_999_999_999);
}

#[tokio::test(start_paused = true)]
async fn lap_reads_the_time_since_the_last_lap() {
    let mut watch = Stopwatch::new();
    advance(Duration::from_millis(300)).await;
    assert_eq!(watch.lap(), Duration::from_millis(300), "the first lap counts from the start");
    advance(Duration::from_millis(200)).await;
    assert_eq!(watch.lap(), Duration::from_millis(200));
    assert_eq!(watch.lap(), Duration::ZERO);
    advance(Duration::from_millis(50)).await;
    assert_eq!(watch.lap(), Duration::from_millis(50));

    // Laps do not move the start.
    assert_eq!(watch.toc(), Duration::from_millis(550));
}

#[tokio::test(start_paused = true)]
async fn tic_restarts_the_watch_and_its_laps() {
    let mut watch = Stopwatch::new();
    let first_start = watch.started();
    advance(Duration::from_secs(4)).await;
    watch.lap();
    advance(Duration::from_secs(1)).await;

    watch.tic();
    assert_eq!(watch.started(), first_start + Duration::from_secs(5));
    assert_eq!(watch.toc(), Duration::ZERO);
    advance(Duration::from_millis(750)).await;
    assert_eq!(watch.toc(), Duration::from_millis(750));
    assert_eq!(watch.lap(), Duration::from_millis(750), "the lap restarted with tic");
}

#[tokio::test(start_paused = true)]
async fn it_follows_time_that_passes_in_sleeps() {
    let watch = Stopwatch::new();
    let mut last = watch.toc();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = watch.toc();
        assert_eq!(now - last, Duration::from_millis(100));
        last = now;
    }
    assert_eq!(watch.toc_in(Resolution::Millis), 1_000);
}

#[tokio::test(start_paused = true)]
async fn copies_run_independently() {
    let mut watch = Stopwatch::new();
    advance(Duration::from_millis(100)).await;
    let copy = watch;
    watch.tic();
    advance(Duration::from_millis(100)).await;
    assert_eq!(copy.toc(), Duration::from_millis(200));
    assert_eq!(watch.toc(), Duration::from_millis(100));
}
