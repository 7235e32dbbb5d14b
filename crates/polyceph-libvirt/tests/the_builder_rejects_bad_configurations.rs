//! A configuration that cannot work is refused when the poller is built,
//! each mistake with its own `ConfigError`.

use std::time::Duration;

use polyceph::error::InvalidFrequency;
use polyceph_libvirt::{Builder, ConfigError, LibvirtPoller};

fn one_host() -> Builder {
    LibvirtPoller::builder().host("local", "test:///default").recipient("monitor")
}

fn error(builder: Builder) -> ConfigError {
    builder.build().expect_err("a bad configuration")
}

#[test]
fn each_mistake_has_its_error() {
    assert_eq!(error(LibvirtPoller::builder().recipient("monitor")), ConfigError::NoHosts);
    assert_eq!(error(LibvirtPoller::builder().host("local", "test:///default")), ConfigError::NoRecipient);
    assert_eq!(error(one_host().host("", "test:///default")), ConfigError::EmptyLabel);
    assert_eq!(error(one_host().host("local", "qemu:///system")), ConfigError::DuplicateHost("local".to_owned()));
    assert_eq!(error(one_host().frequency(0.0)), ConfigError::Frequency(InvalidFrequency(0.0)));
    assert_eq!(error(one_host().frequency(5_000.0)), ConfigError::Frequency(InvalidFrequency(5_000.0)));
    assert_eq!(error(one_host().call_timeout(Duration::ZERO)), ConfigError::ZeroTimeout);
    let (zero, second) = (Duration::ZERO, Duration::from_secs(1));
    assert_eq!(error(one_host().backoff(zero, second)), ConfigError::Backoff { first: zero, max: second });
    let long = Duration::from_secs(10);
    assert_eq!(error(one_host().backoff(long, second)), ConfigError::Backoff { first: long, max: second });
    assert!(one_host().frequency(0.5).build().is_ok());
}
