//! Opening the sockets: socket2 for the options std does not offer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::config::{Interface, MulticastConfig};
use crate::error::SocketError;

/// A socket that sends to the group; see [`MulticastConfig::bind_sender`].
pub(crate) fn sender(config: &MulticastConfig) -> Result<UdpSocket, SocketError> {
    let group = config.socket_addr();
    let socket = new_socket(group)?;
    let step = |action: String| move |e| SocketError::new(action, e);
    match (group.ip(), config.interface()) {
        (IpAddr::V4(_), interface) => {
            if let Interface::V4(address) = interface {
                socket.set_multicast_if_v4(&address).map_err(step(format!("send on interface {address}")))?;
            }
            socket.set_multicast_ttl_v4(config.ttl()).map_err(step(format!("set ttl {}", config.ttl())))?;
            socket.set_multicast_loop_v4(config.loopback()).map_err(step("set multicast loopback".into()))?;
            socket.bind(&SockAddr::from(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))).map_err(step("bind".into()))?;
        }
        (IpAddr::V6(_), interface) => {
            if let Interface::V6(index) = interface {
                socket.set_multicast_if_v6(index).map_err(step(format!("send on interface #{index}")))?;
            }
            socket.set_multicast_hops_v6(config.ttl()).map_err(step(format!("set hop limit {}", config.ttl())))?;
            socket.set_multicast_loop_v6(config.loopback()).map_err(step("set multicast loopback".into()))?;
            socket
                .bind(&SockAddr::from(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0)))
                .map_err(step("bind".into()))?;
        }
    }
    socket.connect(&SockAddr::from(group)).map_err(step(format!("connect to {group}")))?;
    Ok(socket.into())
}

/// A socket that receives the group; see [`MulticastConfig::bind_receiver`].
pub(crate) fn receiver(config: &MulticastConfig) -> Result<UdpSocket, SocketError> {
    let group = config.socket_addr();
    let socket = new_socket(group)?;
    let step = |action: String| move |e| SocketError::new(action, e);
    // Several listeners on one host: each gets every datagram.
    socket.set_reuse_address(true).map_err(step("set SO_REUSEADDR".into()))?;
    socket.set_reuse_port(true).map_err(step("set SO_REUSEPORT".into()))?;
    socket
        .set_recv_buffer_size(config.receive_buffer())
        .map_err(step(format!("set a receive buffer of {} bytes", config.receive_buffer())))?;
    // Bound to the group address, not to the wildcard, the socket gets only
    // this group's datagrams, even when other groups use the same port.
    socket.bind(&SockAddr::from(group)).map_err(step(format!("bind to {group}")))?;
    match (group.ip(), config.interface()) {
        (IpAddr::V4(address), interface) => {
            let on = match interface {
                Interface::V4(on) => on,
                _ => Ipv4Addr::UNSPECIFIED,
            };
            socket.join_multicast_v4(&address, &on).map_err(step(format!("join group {address} on {on}")))?;
            socket.set_multicast_all_v4(false).map_err(step("clear IP_MULTICAST_ALL".into()))?;
        }
        (IpAddr::V6(address), interface) => {
            let index = match interface {
                Interface::V6(index) => index,
                _ => 0,
            };
            socket.join_multicast_v6(&address, index).map_err(step(format!("join group {address} on #{index}")))?;
            socket.set_multicast_all_v6(false).map_err(step("clear IPV6_MULTICAST_ALL".into()))?;
        }
    }
    let granted = socket.recv_buffer_size().unwrap_or(0);
    // Linux reports twice the usable size; less than asked means rmem_max capped it.
    if granted / 2 < config.receive_buffer() {
        tracing::debug!(
            asked = config.receive_buffer(),
            granted = granted / 2,
            "receive buffer capped by the system (net.core.rmem_max)"
        );
    }
    Ok(socket.into())
}

fn new_socket(group: SocketAddr) -> Result<Socket, SocketError> {
    let socket = Socket::new(Domain::for_address(group), Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| SocketError::new("open a UDP socket", e))?;
    if group.is_ipv6() {
        socket.set_only_v6(true).map_err(|e| SocketError::new("set IPV6_V6ONLY", e))?;
    }
    // Tokio needs non-blocking sockets.
    socket.set_nonblocking(true).map_err(|e| SocketError::new("make the socket non-blocking", e))?;
    Ok(socket)
}
