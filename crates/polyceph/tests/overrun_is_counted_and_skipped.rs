//! Proves that a `life` that runs past the next due tick is an overrun: it is
//! counted in `ActorStats::overruns` (and logged: see
//! `overrun_is_logged_as_a_warning.rs`), and the missed
//! ticks are skipped (the next tick lands on the next multiple of the period,
//! with no burst of catch-up ticks).

mod support;

use support::{ms, run};

#[tokio::test(start_paused = true)]
async fn one_long_life_skips_to_the_next_multiple_of_the_period() -> anyhow::Result<()> {
    // The tick at 1.0 s takes 1.2 periods (0.6 s): the tick due at 1.5 s is
    // missed and skipped; the schedule resumes at 2.0 s.
    let run = run(|k| if k == 2 { ms(600) } else { ms(100) }, ms(4_750)).await?;

    assert_eq!(run.times, [0, 500, 1_000, 2_000, 2_500, 3_000, 3_500, 4_000, 4_500].map(ms));
    assert_eq!(run.ticks, 9);
    assert_eq!(run.overruns, 1);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_life_that_always_overruns_ticks_every_other_period() -> anyhow::Result<()> {
    // Every tick takes 1.2 periods: ticks at 0, 1, 2, ... s, each one an
    // overrun. A catching-up schedule would have run 17 back-to-back ticks.
    let run = run(|_| ms(600), ms(9_999)).await?;

    let expected: Vec<_> = (0..10).map(|k| ms(1_000 * k)).collect();
    assert_eq!(run.times, expected);
    assert_eq!(run.ticks, 10);
    assert_eq!(run.overruns, 10);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_life_that_misses_several_ticks_skips_all_of_them() -> anyhow::Result<()> {
    // The first tick takes 2.7 periods (1.35 s): the ticks due at 0.5 s and
    // 1.0 s are skipped; the next one is due at 1.5 s. One overrun.
    let run = run(|k| if k == 0 { ms(1_350) } else { ms(0) }, ms(3_250)).await?;

    assert_eq!(run.times, [0, 1_500, 2_000, 2_500, 3_000].map(ms));
    assert_eq!(run.ticks, 5);
    assert_eq!(run.overruns, 1);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_life_shorter_than_the_period_is_no_overrun() -> anyhow::Result<()> {
    let run = run(|_| ms(499), ms(9_999)).await?;

    assert_eq!(run.ticks, 20);
    assert_eq!(run.overruns, 0);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_life_of_exactly_one_period_is_no_overrun() -> anyhow::Result<()> {
    // `ActorStats::overruns` counts the times `life` took *longer* than one
    // period. A life of exactly one period ends when the next tick is due, so
    // that tick runs on time: ticks at 0, 0.5, 1.0, ... s.
    let run = run(|_| ms(500), ms(4_750)).await?;

    let expected: Vec<_> = (0..10).map(|k| ms(500 * k)).collect();
    assert_eq!(run.times, expected, "no tick skipped");
    assert_eq!(run.overruns, 0);
    Ok(())
}
