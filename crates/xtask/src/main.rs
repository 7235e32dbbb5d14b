//! Developer automation for the polyceph workspace.
//!
//! Invoked through the cargo alias defined in `.cargo/config.toml`:
//!
//! ```text
//! cargo xtask test    # run every check CI runs, in the same order
//! cargo xtask python  # make sure a Python with msgpack exists, print its path
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
//! 3. **Python msgpack** – finds a Python that can `import msgpack` for the
//!    wire-format interoperability test (see [`ensure_python_msgpack`]):
//!    `$POLYCEPH_PYTHON` if set, else `python3` if it has msgpack, else the
//!    virtualenv [`PYTHON_VENV`], created with `python3 -m venv` and given
//!    msgpack with `pip install` when needed. If `python3 -m venv` fails
//!    (Debian's `python3-venv` missing), that package is installed with
//!    `apt-get` when running as root, otherwise the exact command is printed
//!    and the task fails. The chosen interpreter is passed to `cargo test` as
//!    `POLYCEPH_PYTHON`.
//! 4. **Checks**, stopping at the first failure:
//!    `cargo fmt --check`, `cargo clippy -D warnings`, `cargo test`,
//!    `cargo doc` with `RUSTDOCFLAGS=-D warnings`,
//!    `cargo deny check bans licenses sources`, and smoke runs of the
//!    examples.
//!
//! The time taken by each step and in total is printed.

use std::ffi::{OsStr, OsString};
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
/// `polyceph-libvirt` links libvirt (`libvirt-dev`, found through
/// `pkg-config`); `python3` is needed by the interop tests, and `ip`
/// (iproute2) by the IPv6 multicast test, which builds its own network
/// namespaces. Entries are checked in order, so tools used by other checks
/// (like `pkg-config`) must come first.
const SYSTEM_PACKAGES: &[SystemPackage] = &[
    SystemPackage { debian: "pkg-config", check: Check::Command("pkg-config") },
    SystemPackage { debian: "libvirt-dev", check: Check::PkgConfig("libvirt") },
    SystemPackage { debian: "python3", check: Check::Command("python3") },
    SystemPackage { debian: "iproute2", check: Check::Command("ip") },
];

/// The virtualenv, relative to the workspace root, that gets msgpack when
/// `python3` has none. Under `target/`, so git ignores it and `cargo clean`
/// removes it.
const PYTHON_VENV: &str = "target/python-venv";

/// The environment variable naming the Python the wire-format
/// interoperability test (`crates/polyceph/tests/wire_python_interop.rs`) runs.
const PYTHON_VAR: &str = "POLYCEPH_PYTHON";

/// Usage text printed by `cargo xtask help` and on bad invocations.
const USAGE: &str = "\
Usage: cargo xtask <TASK>

Tasks:
  test    Install missing tooling, then run fmt, clippy, tests, docs,
          cargo-deny and the example smoke test (what CI runs)
  python  Make sure a Python with msgpack exists (creating target/python-venv
          if needed) and print it, for POLYCEPH_PYTHON
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
        ["python"] => match ensure_python_msgpack() {
            Ok(python) => {
                println!("{PYTHON_VAR}={}", python.display());
                ExitCode::SUCCESS
            }
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
    let python = timed(timings, "python msgpack", ensure_python_msgpack)?;

    let steps = [
        Step { name: "cargo fmt", args: &["fmt", "--all", "--check"], env: vec![], limit: minutes(5) },
        Step {
            name: "cargo clippy",
            args: &["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"],
            env: vec![],
            limit: minutes(30),
        },
        Step {
            name: "cargo test",
            args: &["test", "--workspace", "--all-features"],
            env: vec![(PYTHON_VAR, python.into_os_string())],
            limit: minutes(30),
        },
        Step {
            name: "cargo doc",
            args: &["doc", "--workspace", "--no-deps", "--all-features"],
            env: vars(&[("RUSTDOCFLAGS", "-D warnings")]),
            limit: minutes(15),
        },
        Step {
            name: "cargo deny",
            args: &["deny", "check", "bans", "licenses", "sources"],
            env: vec![],
            limit: minutes(5),
        },
        Step {
            name: "example smoke test: hello_world",
            args: &["run", "--quiet", "--example", "hello_world", "--", "--count", "1"],
            env: vars(&[("RUST_LOG", "info")]),
            limit: minutes(10),
        },
        Step {
            name: "example smoke test: supervision",
            args: &["run", "--quiet", "--example", "supervision", "--", "--jobs", "6", "--crash-every", "3"],
            env: vars(&[("RUST_LOG", "warn")]),
            limit: minutes(5),
        },
        Step {
            name: "example smoke test: embedded",
            args: &["run", "--quiet", "--example", "embedded", "--", "--clients", "2"],
            env: vars(&[("RUST_LOG", "warn")]),
            limit: minutes(5),
        },
        Step {
            name: "example smoke test: process_worker",
            args: &["run", "--quiet", "--example", "process_worker", "--", "--jobs", "4"],
            env: vars(&[("RUST_LOG", "warn")]),
            limit: minutes(5),
        },
        Step {
            name: "example smoke test: fifo_bridge",
            args: &["run", "--quiet", "--example", "fifo_bridge"],
            env: vars(&[("RUST_LOG", "warn")]),
            limit: minutes(5),
        },
        Step {
            name: "example smoke test: telemetry",
            args: &["run", "--quiet", "--example", "telemetry", "--", "--seconds", "3"],
            env: vars(&[("RUST_LOG", "warn")]),
            limit: minutes(5),
        },
        Step {
            name: "example smoke test: libvirt_monitor",
            args: &[
                "run",
                "--quiet",
                "-p",
                "polyceph-examples",
                "--features",
                "libvirt",
                "--example",
                "libvirt_monitor",
                "--",
                "--cycles",
                "1",
            ],
            env: vars(&[("RUST_LOG", "warn")]),
            limit: minutes(5),
        },
    ];

    for step in &steps {
        timed(timings, step.name, || step.run())?;
    }
    Ok(())
}

/// Environment variables for a [`Step`].
fn vars(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, OsString)> {
    pairs.iter().map(|&(key, value)| (key, OsString::from(value))).collect()
}

/// One cargo invocation of the check pipeline.
#[derive(Debug)]
struct Step {
    /// Human readable name, printed in `==>` lines and error messages.
    name: &'static str,
    /// Arguments passed to cargo.
    args: &'static [&'static str],
    /// Extra environment variables for the invocation.
    env: Vec<(&'static str, OsString)>,
    /// How long the step may take (building included) before it is killed:
    /// a hanging test must fail the run, not eat CI's time budget.
    limit: Duration,
}

impl Step {
    /// Runs the step, failing if cargo exits unsuccessfully.
    fn run(&self) -> Result<()> {
        let mut cmd = cargo();
        cmd.args(self.args);
        for (key, value) in &self.env {
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

/// Prints a `==> name` header, runs `f`, records and prints its duration,
/// and hands back what `f` returned.
///
/// A failure is wrapped with a message naming the step.
fn timed<T>(
    timings: &mut Vec<(&'static str, Duration)>,
    name: &'static str,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    println!("==> {name}");
    let started = Instant::now();
    let result = f();
    let elapsed = started.elapsed();
    timings.push((name, elapsed));
    match result {
        Ok(value) => {
            println!("==> {name}: ok ({elapsed:.1?})");
            Ok(value)
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
    apt_install(&missing)?;

    let still_missing: Vec<&str> =
        SYSTEM_PACKAGES.iter().filter(|pkg| !pkg.check.is_satisfied()).map(|pkg| pkg.debian).collect();
    if !still_missing.is_empty() {
        bail!("system packages still missing after installation: {}", still_missing.join(" "));
    }
    Ok(())
}

/// Installs Debian packages with `apt-get` (the caller checked it runs as root).
fn apt_install(packages: &[&str]) -> Result<()> {
    run(Command::new("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Whether `python` runs and can `import msgpack`.
fn has_msgpack(python: impl AsRef<OsStr>) -> bool {
    succeeds(Command::new(python).args(["-c", "import msgpack"]))
}

/// Finds or makes a Python that can `import msgpack`, for the wire-format
/// interoperability test, and returns the command that runs it:
///
/// 1. `$POLYCEPH_PYTHON` if set (an error if it has no msgpack: it was asked for);
/// 2. else `python3` if it has msgpack;
/// 3. else the virtualenv [`PYTHON_VENV`] (an absolute path to its
///    interpreter), created with `python3 -m venv` if missing or broken
///    (see [`ensure_venv`]) and given msgpack with `pip install --quiet`.
fn ensure_python_msgpack() -> Result<PathBuf> {
    if let Some(python) = std::env::var_os(PYTHON_VAR).filter(|p| !p.is_empty()) {
        let python = PathBuf::from(python);
        if !has_msgpack(&python) {
            bail!(
                "{PYTHON_VAR} is set to {}, which cannot `import msgpack`: \
                 install it there (`{} -m pip install msgpack`) or unset {PYTHON_VAR}",
                python.display(),
                python.display()
            );
        }
        println!("using {PYTHON_VAR}={}", python.display());
        return Ok(python);
    }
    if has_msgpack("python3") {
        println!("python3 has msgpack");
        return Ok(PathBuf::from("python3"));
    }
    let venv = workspace_root().join(PYTHON_VENV);
    let python = venv.join("bin/python");
    if !has_msgpack(&python) {
        println!("python3 has no msgpack; using the virtualenv {}", venv.display());
        ensure_venv(&venv)?;
        println!("installing msgpack into {}", venv.display());
        run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "--disable-pip-version-check", "msgpack"]))
            .context("cannot install msgpack into the virtualenv (is PyPI reachable?)")?;
        if !has_msgpack(&python) {
            bail!("{} still cannot `import msgpack` after `pip install msgpack`", python.display());
        }
    }
    println!("using {}", python.display());
    Ok(python)
}

/// Makes sure `venv` is a virtualenv with `pip`: creates it with
/// `python3 -m venv`, after removing what a failed attempt left.
///
/// Debian and Ubuntu ship Python's `venv` module without `ensurepip` unless
/// the `python3-venv` package is installed, and then `python3 -m venv`
/// fails. That package is installed with `apt-get` when running as root,
/// like [`SYSTEM_PACKAGES`]; otherwise the exact command is printed and this
/// fails.
fn ensure_venv(venv: &Path) -> Result<()> {
    if is_executable(&venv.join("bin/python")) && is_executable(&venv.join("bin/pip")) {
        return Ok(());
    }
    remove_dir_if_present(venv)?;
    println!("creating the virtualenv with `python3 -m venv {}`", venv.display());
    if create_venv(venv) {
        return Ok(());
    }
    remove_dir_if_present(venv)?;
    if !is_root() {
        bail!(
            "`python3 -m venv {}` failed: Python's venv module (with ensurepip) is missing\n\
             install it with:\n\n    sudo apt-get install -y python3-venv\n\n\
             or give python3 msgpack yourself: `pip install msgpack`",
            venv.display()
        );
    }
    println!("`python3 -m venv` failed; installing python3-venv");
    apt_install(&["python3-venv"])?;
    if !create_venv(venv) {
        bail!("`python3 -m venv {}` still fails after installing python3-venv", venv.display());
    }
    Ok(())
}

/// Runs `python3 -m venv venv`; whether it made a virtualenv with `pip`.
fn create_venv(venv: &Path) -> bool {
    Command::new("python3").args(["-m", "venv"]).arg(venv).stdin(Stdio::null()).status().is_ok_and(|s| s.success())
        && is_executable(&venv.join("bin/pip"))
}

/// Removes a directory tree if there is one.
fn remove_dir_if_present(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(err).with_context(|| format!("cannot remove {}", dir.display()))
        }
        _ => Ok(()),
    }
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
    fn a_python_that_does_not_exist_has_no_msgpack() {
        assert!(!has_msgpack("xtask-no-such-python"));
    }

    #[test]
    fn the_virtualenv_is_under_target() {
        assert!(Path::new(PYTHON_VENV).starts_with("target"), "git must ignore {PYTHON_VENV}");
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("crates/xtask/Cargo.toml").is_file());
    }
}
