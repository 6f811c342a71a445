//! Validation of outbound URLs that clients give us (webhook endpoints, callbacks, file retrieval).
//!
//! A URL is accepted when its scheme is `http` or `https` and **every** address its host resolves
//! to is a public unicast address. Refused classes: loopback, private (RFC 1918, IPv6 ULA
//! `fc00::/7`, deprecated site-local `fec0::/10`), link-local (`169.254.0.0/16`, `fe80::/10`),
//! shared/CGNAT (`100.64.0.0/10`), unspecified and "this network" (`0.0.0.0/8`, `::`),
//! multicast, broadcast, reserved (`240.0.0.0/4`, `192.0.0.0/24`, `198.18.0.0/15`, documentation
//! ranges) and the cloud metadata address `169.254.169.254`. IPv4 addresses embedded in IPv6
//! (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
//! `2002::/16`) are judged by the IPv4 address they carry.
//!
//! `allow_private_targets` lifts every refusal except the metadata address, which no legitimate
//! target uses and which is the classic server-side request forgery prize.
//!
//! Checking is not enough: a name can resolve to a public address when checked and to a private
//! one when connected (DNS rebinding). [`validate`] therefore returns the addresses it checked,
//! and [`ValidatedTarget::pinned_client`] builds an HTTP client that connects to those addresses
//! only, follows no redirects and uses no proxy.
//!
//! URLs are parsed with the WHATWG rules of the `url` crate, so the decimal, hexadecimal, octal
//! and shortened IPv4 forms (`http://2130706433/`, `http://0x7f.1/`) are normalised to dotted
//! quads before they are judged.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

/// What the operator allows as outbound targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Allow loopback, private, link-local and other non-public addresses (tests, local
    /// development, intranet deployments). The metadata address stays refused.
    pub allow_private_targets: bool,
}

/// Why an address is not a public unicast address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressClass {
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918, IPv6 unique-local `fc00::/7`, deprecated site-local `fec0::/10`.
    Private,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// Cloud instance metadata, `169.254.169.254` (refused even when private targets are allowed).
    Metadata,
    /// Shared address space / carrier-grade NAT, `100.64.0.0/10`.
    SharedCgnat,
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// Reserved, benchmarking, protocol-assignment and documentation ranges.
    Reserved,
}

impl std::fmt::Display for AddressClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link-local",
            Self::Metadata => "cloud metadata",
            Self::SharedCgnat => "shared (CGNAT)",
            Self::Unspecified => "unspecified",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Reserved => "reserved",
        })
    }
}

/// Why an outbound URL was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Not a URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(#[from] url::ParseError),
    /// A scheme other than `http` or `https`.
    #[error("unsupported URL scheme {0:?}: only http and https are allowed")]
    UnsupportedScheme(String),
    /// No host, or no port could be derived.
    #[error("URL has no host")]
    MissingHost,
    /// The host name did not resolve (may be temporary).
    #[error("could not resolve {host}: {reason}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's message.
        reason: String,
    },
    /// The host resolved to no address at all.
    #[error("{0} resolved to no address")]
    NoAddress(String),
    /// The host is, or resolves to, an address that the policy refuses.
    #[error("refused target address {addr} ({class})")]
    Forbidden {
        /// The refused address.
        addr: IpAddr,
        /// Why it is refused.
        class: AddressClass,
    },
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Client(String),
}

impl TargetError {
    /// Whether trying again later can succeed (only name resolution failures are transient).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Resolve { .. })
    }
}

/// An outbound URL whose host was resolved and whose every address passed the policy.
#[derive(Debug, Clone)]
pub struct ValidatedTarget {
    url: Url,
    addrs: Vec<SocketAddr>,
}

impl ValidatedTarget {
    /// The URL, normalised by the WHATWG parser.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The addresses that were checked; connections must go to these only.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// An HTTP client that connects only to [`Self::addrs`] for this URL's host (whatever DNS
    /// says at connect time), follows no redirects, ignores proxy settings and gives up after
    /// `timeout`.
    pub fn pinned_client(&self, timeout: Duration) -> Result<reqwest::Client, TargetError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Signet/", env!("CARGO_PKG_VERSION")));
        if let Some(Host::Domain(domain)) = self.url.host() {
            builder = builder.resolve_to_addrs(domain, &self.addrs);
        }
        builder
            .build()
            .map_err(|e| TargetError::Client(e.to_string()))
    }

    #[cfg(test)]
    pub(crate) fn pinned_for_test(url: Url, addrs: Vec<SocketAddr>) -> Self {
        Self { url, addrs }
    }
}

/// How long name resolution may take before [`validate`] gives up (retryably).
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Parses `url`, resolves its host and checks every address against `policy`.
pub async fn validate(url: &str, policy: TargetPolicy) -> Result<ValidatedTarget, TargetError> {
    let url = Url::parse(url)?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(TargetError::UnsupportedScheme(other.to_owned())),
    }
    let port = url
        .port_or_known_default()
        .ok_or(TargetError::MissingHost)?;
    let addrs: Vec<SocketAddr> = match url.host() {
        None => return Err(TargetError::MissingHost),
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(domain)) => {
            let found = tokio::net::lookup_host((domain, port)).await.map_err(|e| {
                TargetError::Resolve {
                    host: domain.to_owned(),
                    reason: e.to_string(),
                }
            })?;
            let mut addrs: Vec<SocketAddr> = Vec::new();
            for addr in found {
                if !addrs.contains(&addr) {
                    addrs.push(addr);
                }
            }
            addrs
        }
    };
    if addrs.is_empty() {
        return Err(TargetError::NoAddress(
            url.host_str().unwrap_or_default().to_owned(),
        ));
    }
    for addr in &addrs {
        check_ip(addr.ip(), policy)?;
    }
    Ok(ValidatedTarget { url, addrs })
}

/// Checks one address against `policy`.
pub fn check_ip(ip: IpAddr, policy: TargetPolicy) -> Result<(), TargetError> {
    match classify(ip) {
        None => Ok(()),
        Some(AddressClass::Metadata) => Err(TargetError::Forbidden {
            addr: ip,
            class: AddressClass::Metadata,
        }),
        Some(_) if policy.allow_private_targets => Ok(()),
        Some(class) => Err(TargetError::Forbidden { addr: ip, class }),
    }
}

/// Why `ip` is not a public unicast address, or `None` when it is one.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    use AddressClass::*;
    const TABLE: &[([u8; 4], u32, AddressClass)] = &[
        ([169, 254, 169, 254], 32, Metadata),
        ([0, 0, 0, 0], 8, Unspecified),
        ([127, 0, 0, 0], 8, Loopback),
        ([10, 0, 0, 0], 8, Private),
        ([172, 16, 0, 0], 12, Private),
        ([192, 168, 0, 0], 16, Private),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([100, 64, 0, 0], 10, SharedCgnat),
        ([224, 0, 0, 0], 4, Multicast),
        ([255, 255, 255, 255], 32, Broadcast),
        ([240, 0, 0, 0], 4, Reserved),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Reserved),
        ([198, 18, 0, 0], 15, Reserved),
        ([198, 51, 100, 0], 24, Reserved),
        ([203, 0, 113, 0], 24, Reserved),
    ];
    TABLE
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    use AddressClass::*;
    let seg = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if ip.is_unspecified() {
        return Some(Unspecified);
    }
    if ip.is_loopback() {
        return Some(Loopback);
    }
    // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d.
    if seg[..5] == [0; 5] && (seg[5] == 0xffff || seg[5] == 0) {
        return classify_v4(embedded_v4(seg[6], seg[7])).or(if seg[5] == 0 {
            // Deprecated IPv4-compatible form: never a legitimate target.
            Some(Reserved)
        } else {
            None
        });
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded_v4(seg[6], seg[7]));
    }
    // 6to4 2002:a.b.c.d::/48.
    if seg[0] == 0x2002 {
        return classify_v4(embedded_v4(seg[1], seg[2]));
    }
    match seg[0] {
        s if s & 0xfe00 == 0xfc00 => Some(Private),
        s if s & 0xffc0 == 0xfec0 => Some(Private),
        s if s & 0xffc0 == 0xfe80 => Some(LinkLocal),
        s if s & 0xff00 == 0xff00 => Some(Multicast),
        // Documentation 2001:db8::/32 and the discard prefix 100::/64.
        0x2001 if seg[1] == 0x0db8 => Some(Reserved),
        0x0100 if seg[1..4] == [0, 0, 0] => Some(Reserved),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<AddressClass> {
        classify(s.parse().expect("test address"))
    }

    #[test]
    fn classes() {
        use AddressClass::*;
        assert_eq!(class("127.0.0.1"), Some(Loopback));
        assert_eq!(class("127.255.255.254"), Some(Loopback));
        assert_eq!(class("::1"), Some(Loopback));
        assert_eq!(class("10.1.2.3"), Some(Private));
        assert_eq!(class("172.16.0.1"), Some(Private));
        assert_eq!(class("172.31.255.255"), Some(Private));
        assert_eq!(class("172.32.0.1"), None);
        assert_eq!(class("192.168.1.1"), Some(Private));
        assert_eq!(class("fc00::1"), Some(Private));
        assert_eq!(class("fd12:3456::1"), Some(Private));
        assert_eq!(class("169.254.1.1"), Some(LinkLocal));
        assert_eq!(class("169.254.169.254"), Some(Metadata));
        assert_eq!(class("fe80::1"), Some(LinkLocal));
        assert_eq!(class("febf::1"), Some(LinkLocal));
        assert_eq!(class("0.0.0.0"), Some(Unspecified));
        assert_eq!(class("::"), Some(Unspecified));
        assert_eq!(class("224.0.0.1"), Some(Multicast));
        assert_eq!(class("ff02::1"), Some(Multicast));
        assert_eq!(class("100.64.0.1"), Some(SharedCgnat));
        assert_eq!(class("100.127.255.255"), Some(SharedCgnat));
        assert_eq!(class("100.128.0.1"), None);
        assert_eq!(class("255.255.255.255"), Some(Broadcast));
        assert_eq!(class("::ffff:127.0.0.1"), Some(Loopback));
        assert_eq!(class("::ffff:10.0.0.1"), Some(Private));
        assert_eq!(class("::ffff:169.254.169.254"), Some(Metadata));
        assert_eq!(class("::127.0.0.1"), Some(Loopback));
        assert_eq!(class("64:ff9b::a9fe:a9fe"), Some(Metadata));
        assert_eq!(class("2002:7f00:1::"), Some(Loopback));
        assert_eq!(class("93.184.215.14"), None);
        assert_eq!(class("1.1.1.1"), None);
        assert_eq!(class("::ffff:93.184.215.14"), None);
        assert_eq!(class("2606:4700:4700::1111"), None);
        assert_eq!(class("2001:db8::1"), Some(Reserved));
    }

    #[test]
    fn metadata_refused_even_when_private_allowed() {
        let allow = TargetPolicy {
            allow_private_targets: true,
        };
        assert!(check_ip("127.0.0.1".parse().expect("ip"), allow).is_ok());
        assert!(matches!(
            check_ip("169.254.169.254".parse().expect("ip"), allow),
            Err(TargetError::Forbidden {
                class: AddressClass::Metadata,
                ..
            })
        ));
    }
}
