//! Outbound target validation: every refused class, the encodings that hide them, and public
//! addresses that must pass. Only literal addresses and `localhost` are used: no DNS needed.

use signet_notify::target::{AddressClass, TargetError, TargetPolicy, validate};

const STRICT: TargetPolicy = TargetPolicy {
    allow_private_targets: false,
};
const LAX: TargetPolicy = TargetPolicy {
    allow_private_targets: true,
};

async fn refused_class(url: &str) -> AddressClass {
    match validate(url, STRICT).await {
        Err(TargetError::Forbidden { class, .. }) => class,
        other => panic!("{url} should be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn refuses_each_class() {
    use AddressClass::*;
    let cases = [
        ("http://127.0.0.1/", Loopback),
        ("http://127.1.2.3:8080/hook", Loopback),
        ("http://[::1]/", Loopback),
        ("http://localhost:9000/", Loopback),
        ("http://10.0.0.1/", Private),
        ("http://172.16.5.4/", Private),
        ("http://192.168.0.10/", Private),
        ("http://[fc00::1]/", Private),
        ("http://[fd00:ec2::254]/", Private),
        ("http://169.254.10.20/", LinkLocal),
        ("http://[fe80::1]/", LinkLocal),
        ("http://169.254.169.254/latest/meta-data/", Metadata),
        ("http://0.0.0.0/", Unspecified),
        ("http://[::]/", Unspecified),
        ("http://224.0.0.251/", Multicast),
        ("http://[ff02::1]/", Multicast),
        ("http://100.64.0.1/", SharedCgnat),
        ("http://100.127.255.254/", SharedCgnat),
        ("http://255.255.255.255/", Broadcast),
        // IPv4-mapped and other IPv6 forms of refused IPv4 addresses.
        ("http://[::ffff:127.0.0.1]/", Loopback),
        ("http://[::ffff:7f00:1]/", Loopback),
        ("http://[::ffff:10.1.1.1]/", Private),
        ("http://[::ffff:169.254.169.254]/", Metadata),
        ("http://[::ffff:100.64.1.1]/", SharedCgnat),
        ("http://[64:ff9b::7f00:1]/", Loopback),
        // Decimal, hexadecimal, octal and shortened IPv4 forms, normalised by the URL parser.
        ("http://2130706433/", Loopback),
        ("http://0x7f000001/", Loopback),
        ("http://0x7f.1/", Loopback),
        ("http://0177.0.0.1/", Loopback),
        ("http://127.1/", Loopback),
        ("http://2852039166/", Metadata),
        ("http://0xa9fea9fe/", Metadata),
        ("http://167772161/", Private),
        ("https://0/", Unspecified),
    ];
    for (url, class) in cases {
        assert_eq!(refused_class(url).await, class, "{url}");
    }
}

#[tokio::test]
async fn refuses_other_schemes_and_garbage() {
    for url in [
        "ftp://93.184.215.14/",
        "file:///etc/passwd",
        "gopher://93.184.215.14/",
        "javascript:alert(1)",
    ] {
        assert!(
            matches!(
                validate(url, LAX).await,
                Err(TargetError::UnsupportedScheme(_))
            ),
            "{url}"
        );
    }
    assert!(matches!(
        validate("not a url", LAX).await,
        Err(TargetError::InvalidUrl(_))
    ));
    assert!(matches!(
        validate("http://", LAX).await,
        Err(TargetError::InvalidUrl(_) | TargetError::MissingHost)
    ));
}

#[tokio::test]
async fn accepts_public_addresses() {
    for url in [
        "http://93.184.215.14/",
        "https://93.184.215.14:8443/hooks?x=1",
        "http://1.1.1.1/",
        "http://[2606:4700:4700::1111]/",
        "http://[::ffff:93.184.215.14]/",
        "http://172.32.0.1/",
        "http://100.128.0.1/",
    ] {
        let target = validate(url, STRICT)
            .await
            .unwrap_or_else(|e| panic!("{url} should pass: {e}"));
        assert_eq!(target.addrs().len(), 1);
    }
    let target = validate("https://93.184.215.14/", STRICT)
        .await
        .expect("public");
    assert_eq!(target.addrs()[0].port(), 443);
}

#[tokio::test]
async fn allow_private_targets_lifts_all_but_metadata() {
    for url in [
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://10.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://100.64.0.1/",
    ] {
        validate(url, LAX)
            .await
            .unwrap_or_else(|e| panic!("{url} allowed: {e}"));
    }
    for url in [
        "http://169.254.169.254/",
        "http://[::ffff:169.254.169.254]/",
        "http://2852039166/",
    ] {
        assert!(
            matches!(
                validate(url, LAX).await,
                Err(TargetError::Forbidden {
                    class: AddressClass::Metadata,
                    ..
                })
            ),
            "{url}"
        );
    }
}

#[tokio::test]
async fn unresolvable_host_is_a_retryable_error() {
    let err = validate("http://no-such-host.invalid/", STRICT)
        .await
        .expect_err("does not resolve");
    assert!(matches!(err, TargetError::Resolve { .. }), "{err}");
    assert!(err.is_retryable());
}
