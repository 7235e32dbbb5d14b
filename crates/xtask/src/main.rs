//! Developer automation for the polyceph workspace.
//!
//! Invoked through the cargo alias defined in `.cargo/config.toml`:
//!
//! ```text
//! cargo xtask test    # run every check CI runs, in the same order
//! cargo xtask help    # print usage
//! ```
//!
//! `cargo xtask test` performs, from the workspace root:
//!
//! 1. **System packages** – checks every entry of [`SYSTEM_PACKAGES`]; missing
//!    ones are installed with `apt-get` when running as root, otherwise the
//!    exact `sudo apt-get install` command is printed and the task fails.
//! 2. **Tooling** – installs `cargo-deny` with `cargo install --locked` if
//!    `cargo deny --version` does not work.
//! 3. **Checks**, stopping at the first failure:
//!    `cargo fmt --check`, `cargo clippy -D warnings`, `cargo test`,
//!    `cargo doc` with `RUSTDOCFLAGS=-D warnings`,
//!    `cargo deny check bans licenses sources`, and smoke runs of the
//!    examples.
//!
//! The time taken by each step and in total is printed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How to tell whether a system package is already installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// The named executable must be found on `PATH`.
    Command(&'static str),
    /// `pkg-config --exists <module>` must succeed.
    #[allow(dead_code, reason = "no system library is needed yet; libvirt-dev will use it")]
    PkgConfig(&'static str),
}

/// A Debian package the build or the tests need, plus how to detect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SystemPackage {
    /// Name of the Debian/Ubuntu package providing the dependency.
    debian: &'static str,
    /// How to check whether the dependency is already present.
    check: Check,
}

/// System packages needed by the workspace.
///
/// No crate links against a system library yet. `pkg-config` is listed so
/// [`Check::PkgConfig`] entries (e.g. `libvirt-dev`, checked with
/// `Check::PkgConfig("libvirt")`) can be added later; `python3` is needed
/// by the interop tests. Entries are checked in order, so tools used by
/// other checks (like `pkg-config`) must come first.
const SYSTEM_PACKAGES: &[SystemPackage] = &[
    SystemPackage { debian: "pkg-config", check: Check::Command("pkg-config") },
    SystemPackage { debian: "python3", check: Check::Command("python3") },
];

/// Usage text printed by `cargo xtask help` and on bad invocations.
const USAGE: &str = "\
Usage: cargo xtask <TASK>

Tasks:
  test    Install missing tooling, then run fmt, clippy, tests, docs,
          cargo-deny and the example smoke test (what CI runs)
  help    Print this message
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["test"] => match task_test() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        },
        ["help"] | ["--help"] | ["-h"] => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        [] => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
        other => {
            eprintln!("error: unknown arguments: {}\n", other.join(" "));
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Runs the whole `cargo xtask test` pipeline.
fn task_test() -> Result<()> {
    let root = workspace_root();
    std::env::set_current_dir(&root).with_context(|| format!("cannot change directory to {}", root.display()))?;

    let started = Instant::now();
    let mut timings: Vec<(&'static str, Duration)> = Vec::new();
    let result = run_pipeline(&mut timings);

    println!("\n==> summary");
    for (name, elapsed) in &timings {
        println!("    {name:<20} {elapsed:>8.1?}");
    }
    println!("    {:<20} {:>8.1?}", "total", started.elapsed());
    result?;
    println!("all checks passed");
    Ok(())
}

/// Runs every step of `cargo xtask test` in order, recording step timings.
fn run_pipeline(timings: &mut Vec<(&'static str, Duration)>) -> Result<()> {
    timed(timings, "system packages", ensure_system_packages)?;
    timed(timings, "cargo-deny", ensure_cargo_deny)?;

    let steps: &[Step] = &[
        Step { name: "cargo fmt", args: &["fmt", "--all", "--check"], env: &[], limit: minutes(5) },
        Step {
            name: "cargo clippy",
            args: &["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"],
            env: &[],
            limit: minutes(30),
        },
        Step { name: "cargo test", args: &["test", "--workspace", "--all-features"], env: &[], limit: minutes(30) },
        Step {
            name: "cargo doc",
            args: &["doc", "--workspace", "--no-deps", "--all-features"],
            env: &[("RUSTDOCFLAGS", "-D warnings")],
            limit: minutes(15),
        },
        Step {
            name: "cargo deny",
            args: &["deny", "check", "bans", "licenses", "sources"],
            env: &[],
            limit: minutes(5),
        },
        Step {
            name: "example smoke test: hello_world",
            args: &["run", "--quiet", "--example", "hello_world", "--", "--count", "1"],
            env: &[("RUST_LOG", "info")],
            limit: minutes(10),
        },
        Step {
            name: "example smoke test: supervision",
            args: &["run", "--quiet", "--example", "supervision", "--", "--jobs", "6", "--crash-every", "3"],
            env: &[("RUST_LOG", "warn")],
            limit: minutes(5),
        },
        Step {
            name: "example smoke test: embedded",
            args: &["run", "--quiet", "--example", "embedded", "--", "--clients", "2"],
            env: &[("RUST_LOG", "warn")],
            limit: minutes(5),
        },
    ];

    for step in steps {
        timed(timings, step.name, || step.run())?;
    }
    Ok(())
}

/// One cargo invocation of the check pipeline.
#[derive(Debug)]
struct Step {
    /// Human readable name, printed in `==>` lines and error messages.
    name: &'static str,
    /// Arguments passed to cargo.
    args: &'static [&'static str],
    /// Extra environment variables for the invocation.
    env: &'static [(&'static str, &'static str)],
    /// How long the step may take (building included) before it is killed:
    /// a hanging test must fail the run, not eat CI's time budget.
    limit: Duration,
}

impl Step {
    /// Runs the step, failing if cargo exits unsuccessfully.
    fn run(&self) -> Result<()> {
        let mut cmd = cargo();
        cmd.args(self.args);
        for (key, value) in self.env {
            cmd.env(key, value);
        }
        run_limited(&mut cmd, self.limit)
    }
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// Runs `cmd` like [`run`], in its own process group, and kills the whole
/// group (cargo and the test binaries it started) if it outlives `limit`.
fn run_limited(cmd: &mut Command, limit: Duration) -> Result<()> {
    use std::os::unix::process::CommandExt;

    let shown = format!("{cmd:?}");
    let started = Instant::now();
    let mut child = cmd.process_group(0).spawn().with_context(|| format!("failed to start {shown}"))?;
    loop {
        if let Some(status) = child.try_wait().with_context(|| format!("cannot wait for {shown}"))? {
            if !status.success() {
                bail!("{shown} exited with {status}");
            }
            return Ok(());
        }
        if started.elapsed() > limit {
            let group = format!("-{}", child.id());
            // Best effort: the group may have exited meanwhile.
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            bail!("{shown} ran longer than {limit:?} and was killed (is a test hanging?)");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Prints a `==> name` header, runs `f`, records and prints its duration.
///
/// A failure is wrapped with a message naming the step.
fn timed(
    timings: &mut Vec<(&'static str, Duration)>,
    name: &'static str,
    f: impl FnOnce() -> Result<()>,
) -> Result<()> {
    println!("==> {name}");
    let started = Instant::now();
    let result = f();
    let elapsed = started.elapsed();
    timings.push((name, elapsed));
    match result {
        Ok(()) => {
            println!("==> {name}: ok ({elapsed:.1?})");
            Ok(())
        }
        Err(err) => Err(err.context(format!("step `{name}` failed after {elapsed:.1?}"))),
    }
}

/// The workspace root: two levels above this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// A `Command` for the cargo that invoked us (`$CARGO`, else `cargo`).
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

/// Runs `cmd` with inherited stdio, failing on spawn error or non-zero exit.
fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("failed to start {shown}"))?;
    if !status.success() {
        bail!("{shown} exited with {status}");
    }
    Ok(())
}

/// Runs `cmd` silently and reports whether it exited successfully.
fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|status| status.success())
}

/// Whether an executable called `name` is found in one of the `PATH` entries.
fn on_path(name: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| is_executable(&dir.join(name)))
}

/// Whether `path` is a regular file that can be executed.
#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Whether `path` is a regular file that can be executed.
#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("exe").is_file()
}

impl Check {
    /// Whether the dependency described by this check is present.
    fn is_satisfied(self) -> bool {
        match self {
            Check::Command(name) => on_path(name),
            Check::PkgConfig(module) => succeeds(Command::new("pkg-config").args(["--exists", module])),
        }
    }
}

/// Whether the current process runs as root (`id -u` prints `0`).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Installs missing entries of [`SYSTEM_PACKAGES`] (as root) or explains how to.
fn ensure_system_packages() -> Result<()> {
    let missing: Vec<&str> =
        SYSTEM_PACKAGES.iter().filter(|pkg| !pkg.check.is_satisfied()).map(|pkg| pkg.debian).collect();
    if missing.is_empty() {
        println!("all system packages present");
        return Ok(());
    }
    let list = missing.join(" ");
    if !is_root() {
        bail!(
            "missing system packages: {list}\n\
             install them with:\n\n    sudo apt-get install -y {list}\n"
        );
    }
    println!("installing missing system packages: {list}");
    run(Command::new("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))?;

    let still_missing: Vec<&str> =
        SYSTEM_PACKAGES.iter().filter(|pkg| !pkg.check.is_satisfied()).map(|pkg| pkg.debian).collect();
    if !still_missing.is_empty() {
        bail!("system packages still missing after installation: {}", still_missing.join(" "));
    }
    Ok(())
}

/// Installs `cargo-deny` if `cargo deny --version` does not work.
fn ensure_cargo_deny() -> Result<()> {
    if succeeds(cargo().args(["deny", "--version"])) {
        println!("cargo-deny present");
        return Ok(());
    }
    println!("cargo-deny not found; running `cargo install --locked cargo-deny`");
    run(cargo().args(["install", "--locked", "cargo-deny"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_packages_are_unique() {
        for (i, pkg) in SYSTEM_PACKAGES.iter().enumerate() {
            assert!(SYSTEM_PACKAGES[..i].iter().all(|p| p.debian != pkg.debian), "{} listed twice", pkg.debian);
        }
    }

    #[test]
    fn pkg_config_is_listed_before_pkg_config_checks() {
        let first_pkg_config_check = SYSTEM_PACKAGES.iter().position(|p| matches!(p.check, Check::PkgConfig(_)));
        if let Some(index) = first_pkg_config_check {
            assert!(
                SYSTEM_PACKAGES[..index].iter().any(|p| p.check == Check::Command("pkg-config")),
                "pkg-config must be installed before pkg-config checks run"
            );
        }
    }

    #[test]
    fn missing_dependencies_are_detected() {
        assert!(!Check::Command("xtask-no-such-command").is_satisfied());
        assert!(!Check::PkgConfig("xtask-no-such-module").is_satisfied());
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("crates/xtask/Cargo.toml").is_file());
    }
}
