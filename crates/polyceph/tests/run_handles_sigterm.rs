//! Proves, on a real child process, that `Builder::run` handles SIGTERM:
//! every actor runs `death` with `ExitReason::Shutdown` and the process
//! exits 0; and that a second signal during a hung shutdown aborts at once,
//! exiting with `RunError::Forced`'s code.
//!
//! The test binary runs itself as the child (`child_application`, a no-op
//! unless the environment asks for a child), so no other binary is needed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use polyceph::prelude::*;

const MODE: &str = "POLYCEPH_SIGTERM_TEST_CHILD";

/// Says when it is born and how it dies; its death hangs if told to.
struct Worker {
    hang_in_death: bool,
}

impl Actor for Worker {
    async fn birth(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        println!("ready");
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, reason: &ExitReason) {
        println!("death: {reason}");
        if self.hang_in_death {
            std::future::pending::<()>().await;
        }
    }
}

/// The child: runs an application until a signal, prints how `run` ended
/// and exits with its code.
#[test]
fn child_application() {
    let Ok(mode) = std::env::var(MODE) else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let outcome = runtime.block_on(
        Application::builder().actor("worker", Worker { hang_in_death: mode == "hang" }).frequency(10.0).run(),
    );
    match outcome {
        Ok(()) => {
            println!("run: ok");
            std::process::exit(0);
        }
        Err(error) => {
            println!("run: {error}");
            std::process::exit(i32::from(error.exit_code()));
        }
    }
}

/// Starts the child and a thread forwarding its stdout lines.
fn spawn_child(mode: &str) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child_application", "--nocapture", "--test-threads=1"])
        .env(MODE, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(std::io::Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Reads the child's lines until one ends with `want` (libtest may print
/// its own words before it on the line); fails after 20 s.
fn wait_for(lines: &mpsc::Receiver<String>, want: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.ends_with(want) => {
                seen.push(line);
                return;
            }
            Ok(line) => seen.push(line),
            Err(_) => panic!("no {want:?} from the child; it printed {seen:?}"),
        }
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
}

/// Waits for the child to exit (at most 20 s) and returns its exit code.
fn exit_code(mut child: Child) -> Option<i32> {
    let pid = child.id();
    let (exited, status) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = exited.send(child.wait().map(|status| status.code()));
    });
    match status.recv_timeout(Duration::from_secs(20)) {
        Ok(code) => code.expect("wait for the child"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("the child did not exit within 20 s of the signal");
        }
    }
}

#[test]
fn sigterm_shuts_down_cleanly_with_status_zero() {
    let (child, lines) = spawn_child("clean");
    let mut seen = Vec::new();
    wait_for(&lines, "ready", &mut seen);
    sigterm(&child);
    wait_for(&lines, "death: shutdown", &mut seen);
    wait_for(&lines, "run: ok", &mut seen);
    assert_eq!(exit_code(child), Some(0), "{seen:?}");
}

#[test]
fn a_second_sigterm_forces_a_hung_shutdown() {
    let (child, lines) = spawn_child("hang");
    let mut seen = Vec::new();
    wait_for(&lines, "ready", &mut seen);
    sigterm(&child);
    // Death has begun, and hangs: the shutdown would wait 30 s.
    wait_for(&lines, "death: shutdown", &mut seen);
    sigterm(&child);
    wait_for(&lines, "run: forced to stop by a second signal: aborted worker", &mut seen);
    assert_eq!(exit_code(child), Some(4), "{seen:?}");
}
