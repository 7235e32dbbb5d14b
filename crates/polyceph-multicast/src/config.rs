//! Where a group is: its address and port, the interface, the TTL, loopback.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use crate::error::{ConfigError, SocketError};

/// The port a group uses unless told otherwise.
pub const DEFAULT_PORT: u16 = 26000;

/// The TTL (IPv4) or hop limit (IPv6) unless told otherwise: the datagrams
/// reach the local network and no router forwards them.
pub const DEFAULT_TTL: u32 = 1;

/// The receive buffer listeners ask for: 4 MiB. A burst of datagrams waits
/// there until the listener's task reads it; with the system's default
/// (about 200 KiB) bursts on loopback lose about 1 %. The kernel caps the
/// request at `net.core.rmem_max`.
pub const DEFAULT_RECEIVE_BUFFER: usize = 4 << 20;

/// Which network interface a group is joined and sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Interface {
    /// The one the system picks by its routes (usually the default route's).
    #[default]
    Default,
    /// The IPv4 interface with this address (`127.0.0.1` is loopback).
    V4(Ipv4Addr),
    /// The IPv6 interface with this index (`ip link` lists them).
    V6(u32),
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::V4(address) => write!(f, "{address}"),
            Self::V6(index) => write!(f, "#{index}"),
        }
    }
}

/// A multicast group to publish to and listen on: address and port,
/// interface, TTL (hop limit) and loopback.
///
/// IPv4 and IPv6 groups are both first-class. Invalid settings are refused
/// at construction with a [`ConfigError`]: a group address that is not a
/// multicast address, port 0, a TTL above 255, an interface of the other
/// address family.
///
/// The defaults are what a program on a LAN expects: the system's interface,
/// [`DEFAULT_PORT`], TTL 1 (the local network, never routed), loopback on
/// (programs on the same host hear each other too).
/// [`host_local`](Self::host_local) keeps everything on this host instead.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use polyceph_multicast::{Interface, MulticastConfig};
/// use polyceph_multicast::error::ConfigError;
///
/// let lan: MulticastConfig = "239.255.70.1".parse()?;
/// assert_eq!((lan.port(), lan.ttl(), lan.loopback()), (26000, 1, true));
///
/// let v6 = MulticastConfig::builder("ff15::c75d:1".parse::<std::net::IpAddr>()?)
///     .port(5000)
///     .interface(Interface::V6(2))
///     .build()?;
/// assert_eq!(v6.to_string(), "[ff15::c75d:1]:5000");
///
/// // Only on this host: loopback interface, TTL 0.
/// let local = MulticastConfig::host_local(Ipv4Addr::new(239, 255, 70, 1), 5000)?;
/// assert_eq!((local.interface(), local.ttl()), (Interface::V4(Ipv4Addr::LOCALHOST), 0));
///
/// assert_eq!("10.0.0.1".parse::<MulticastConfig>(), Err(ConfigError::NotMulticast("10.0.0.1".parse()?)));
/// assert_eq!(MulticastConfig::new(Ipv4Addr::new(239, 0, 0, 1), 0), Err(ConfigError::ZeroPort));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MulticastConfig {
    group: IpAddr,
    port: u16,
    interface: Interface,
    ttl: u32,
    loopback: bool,
    receive_buffer: usize,
}

impl MulticastConfig {
    /// Starts describing a group at `group`; see [`ConfigBuilder`].
    pub fn builder(group: impl Into<IpAddr>) -> ConfigBuilder {
        ConfigBuilder(Self {
            group: group.into(),
            port: DEFAULT_PORT,
            interface: Interface::Default,
            ttl: DEFAULT_TTL,
            loopback: true,
            receive_buffer: DEFAULT_RECEIVE_BUFFER,
        })
    }

    /// The group `group:port` with the defaults.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NotMulticast`], [`ConfigError::ZeroPort`].
    pub fn new(group: impl Into<IpAddr>, port: u16) -> Result<Self, ConfigError> {
        Self::builder(group).port(port).build()
    }

    /// An IPv4 group that never leaves this host: joined and sent on the
    /// loopback interface (`127.0.0.1`), TTL 0, loopback on. Datagrams reach
    /// every listener on this host and no network. Tests, examples and
    /// single-host applications use this.
    ///
    /// IPv6 has no equivalent: Linux refuses to send IPv6 multicast on `lo`
    /// (`ENETUNREACH`). Use a network namespace instead (see the guide).
    ///
    /// # Errors
    ///
    /// As [`MulticastConfig::new`].
    pub fn host_local(group: Ipv4Addr, port: u16) -> Result<Self, ConfigError> {
        Self::builder(group).port(port).interface(Interface::V4(Ipv4Addr::LOCALHOST)).ttl(0).loopback(true).build()
    }

    /// The group address.
    pub fn group(&self) -> IpAddr {
        self.group
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The group address and port, with the interface as the scope of an
    /// IPv6 address.
    pub fn socket_addr(&self) -> SocketAddr {
        match (self.group, self.interface) {
            (IpAddr::V6(group), Interface::V6(index)) => {
                SocketAddr::V6(std::net::SocketAddrV6::new(group, self.port, 0, index))
            }
            (group, _) => SocketAddr::new(group, self.port),
        }
    }

    /// The interface datagrams are sent on and the group is joined on.
    pub fn interface(&self) -> Interface {
        self.interface
    }

    /// The TTL (IPv4) or hop limit (IPv6) of sent datagrams.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }

    /// Whether sent datagrams also reach listeners on this host.
    pub fn loopback(&self) -> bool {
        self.loopback
    }

    /// The receive buffer listeners ask the system for, in bytes.
    pub fn receive_buffer(&self) -> usize {
        self.receive_buffer
    }

    /// Opens a socket that sends to the group: bound to an ephemeral port,
    /// connected to the group, with this configuration's interface, TTL and
    /// loopback. What [`MulticastBroadcaster`](crate::MulticastBroadcaster)
    /// uses; public for custom protocols and for tests.
    ///
    /// # Errors
    ///
    /// [`SocketError`] naming the step the system refused.
    pub fn bind_sender(&self) -> Result<std::net::UdpSocket, SocketError> {
        crate::socket::sender(self)
    }

    /// Opens a socket that receives the group's datagrams: bound to the
    /// group address and port with `SO_REUSEADDR` and `SO_REUSEPORT` (every
    /// listener on the host gets every datagram), joined on this
    /// configuration's interface, with its receive buffer. What
    /// [`MulticastListener`](crate::MulticastListener) uses; public for
    /// custom protocols and for tests.
    ///
    /// # Errors
    ///
    /// [`SocketError`] naming the step the system refused.
    pub fn bind_receiver(&self) -> Result<std::net::UdpSocket, SocketError> {
        crate::socket::receiver(self)
    }
}

impl fmt::Display for MulticastConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", SocketAddr::new(self.group, self.port))
    }
}

/// Parses `239.1.2.3`, `239.1.2.3:5000`, `ff15::1` or `[ff15::1]:5000` (the
/// default port when none is given) with the other defaults.
impl FromStr for MulticastConfig {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        let parse_error = || ConfigError::Parse { text: text.to_owned() };
        let (group, port) = match (text.parse::<IpAddr>(), text.parse::<SocketAddr>()) {
            (Ok(group), _) => (group, DEFAULT_PORT),
            (_, Ok(addr)) => (addr.ip(), addr.port()),
            _ => return Err(parse_error()),
        };
        Self::new(group, port)
    }
}

/// Describes a [`MulticastConfig`]; [`build`](Self::build) checks it.
#[derive(Debug, Clone)]
#[must_use = "a configuration is made by .build()"]
pub struct ConfigBuilder(MulticastConfig);

impl ConfigBuilder {
    /// The port (default [`DEFAULT_PORT`]).
    pub fn port(mut self, port: u16) -> Self {
        self.0.port = port;
        self
    }

    /// The interface to join and send on (default: the system's choice).
    /// An IPv4 group takes [`Interface::V4`], an IPv6 group [`Interface::V6`].
    pub fn interface(mut self, interface: Interface) -> Self {
        self.0.interface = interface;
        self
    }

    /// The TTL or hop limit of sent datagrams (default [`DEFAULT_TTL`]): 0
    /// stays on this host, 1 the local network, more crosses routers.
    pub fn ttl(mut self, ttl: u32) -> Self {
        self.0.ttl = ttl;
        self
    }

    /// Whether sent datagrams also reach listeners on this host (default `true`).
    pub fn loopback(mut self, loopback: bool) -> Self {
        self.0.loopback = loopback;
        self
    }

    /// The receive buffer listeners ask for (default [`DEFAULT_RECEIVE_BUFFER`]).
    pub fn receive_buffer(mut self, bytes: usize) -> Self {
        self.0.receive_buffer = bytes;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NotMulticast`], [`ConfigError::ZeroPort`],
    /// [`ConfigError::TtlTooHigh`], [`ConfigError::InterfaceFamily`],
    /// [`ConfigError::Zero`] for a zero receive buffer.
    pub fn build(self) -> Result<MulticastConfig, ConfigError> {
        let config = self.0;
        if !config.group.is_multicast() {
            return Err(ConfigError::NotMulticast(config.group));
        }
        if config.port == 0 {
            return Err(ConfigError::ZeroPort);
        }
        if config.ttl > 255 {
            return Err(ConfigError::TtlTooHigh(config.ttl));
        }
        if config.receive_buffer == 0 {
            return Err(ConfigError::Zero("receive buffer"));
        }
        match (config.group, config.interface) {
            (_, Interface::Default) | (IpAddr::V4(_), Interface::V4(_)) | (IpAddr::V6(_), Interface::V6(_)) => {}
            (group, interface) => return Err(ConfigError::InterfaceFamily { group, interface: interface.to_string() }),
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_parse_with_and_without_a_port() {
        let v4: MulticastConfig = "239.1.2.3:5000".parse().unwrap();
        assert_eq!((v4.group(), v4.port()), ("239.1.2.3".parse().unwrap(), 5000));
        let v6: MulticastConfig = "[ff15::1]:5000".parse().unwrap();
        assert_eq!((v6.group(), v6.port()), ("ff15::1".parse().unwrap(), 5000));
        assert_eq!("ff15::1".parse::<MulticastConfig>().unwrap().port(), DEFAULT_PORT);
        assert!(matches!("nonsense".parse::<MulticastConfig>(), Err(ConfigError::Parse { .. })));
    }

    #[test]
    fn invalid_settings_are_typed_errors() {
        let group = Ipv4Addr::new(239, 0, 0, 1);
        assert_eq!(
            MulticastConfig::new(Ipv4Addr::new(192, 168, 0, 1), 5000),
            Err(ConfigError::NotMulticast("192.168.0.1".parse().unwrap()))
        );
        assert_eq!(
            "[fe80::1]:5000".parse::<MulticastConfig>(),
            Err(ConfigError::NotMulticast("fe80::1".parse().unwrap()))
        );
        assert_eq!(MulticastConfig::new(group, 0), Err(ConfigError::ZeroPort));
        assert_eq!(MulticastConfig::builder(group).ttl(256).build(), Err(ConfigError::TtlTooHigh(256)));
        assert_eq!(MulticastConfig::builder(group).receive_buffer(0).build(), Err(ConfigError::Zero("receive buffer")));
        assert!(matches!(
            MulticastConfig::builder(group).interface(Interface::V6(1)).build(),
            Err(ConfigError::InterfaceFamily { .. })
        ));
        assert!(matches!(
            MulticastConfig::builder("ff15::1".parse::<IpAddr>().unwrap())
                .interface(Interface::V4(Ipv4Addr::LOCALHOST))
                .build(),
            Err(ConfigError::InterfaceFamily { .. })
        ));
    }

    #[test]
    fn host_local_stays_on_the_loopback_interface_with_ttl_0() {
        let config = MulticastConfig::host_local(Ipv4Addr::new(239, 0, 0, 1), 5000).unwrap();
        assert_eq!(config.interface(), Interface::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(config.ttl(), 0);
        assert!(config.loopback());
    }
}
