//! The subjects of a [`LibvirtPoller`](crate::LibvirtPoller)'s mail, and
//! the body of each.
//!
//! What the poller sends to its recipient:
//!
//! | subject | when | body |
//! |---|---|---|
//! | [`DOMAINS`] | every poll, per host | [`Domains`](crate::Domains) |
//! | [`STATE_CHANGED`] | a domain's state differs from the poll before | [`StateChanged`](crate::StateChanged) |
//! | [`HOST_STATUS`] | a host's connection status changes | [`HostStatusChanged`](crate::HostStatusChanged) |
//!
//! What it answers (requests; the reply's subject is `reply`):
//!
//! | subject | body | reply body |
//! |---|---|---|
//! | [`GET_INFO`] | [`DomainRef`](crate::DomainRef) | [`Reply`](crate::Reply)`<`[`DomainInfo`](crate::DomainInfo)`>` |
//! | [`LIST_DOMAINS`] | [`HostRef`](crate::HostRef) | [`Reply`](crate::Reply)`<`[`Domains`](crate::Domains)`>` |
//! | [`POLL`] | [`HostRef`](crate::HostRef) | [`Reply`](crate::Reply)`<()>`, once the poll's mail is sent |
//! | [`SUSPEND`] | [`DomainRef`](crate::DomainRef) | [`Reply`](crate::Reply)`<()>` |
//! | [`RESUME`] | [`DomainRef`](crate::DomainRef) | [`Reply`](crate::Reply)`<()>` |

/// Every poll's domains of one host.
pub const DOMAINS: &str = "domains";
/// A domain changed state between two polls.
pub const STATE_CHANGED: &str = "domain.state_changed";
/// A host's connection status changed.
pub const HOST_STATUS: &str = "host.status";
/// Request: one domain's info, looked up now.
pub const GET_INFO: &str = "get_info";
/// Request: every domain of one host, looked up now, without mail to the recipient.
pub const LIST_DOMAINS: &str = "list_domains";
/// Request: poll one host now, outside the schedule: its `domains` and
/// `domain.state_changed` mail go to the recipient as for a scheduled poll.
pub const POLL: &str = "poll";
/// Request: pause a domain.
pub const SUSPEND: &str = "suspend";
/// Request: unpause a domain.
pub const RESUME: &str = "resume";
