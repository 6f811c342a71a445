//! Feeds arbitrary bytes to the PDF reader, the verifier and the sealer's planning stage.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signet_pdf::pki::{InstancePki, PkiOptions};
use signet_pdf::seal::{Level, Sealer, seal_bytes};
use signet_pdf::verify::{VerifyOptions, verify_pdf};

fn fixture() -> &'static (InstancePki, Sealer) {
    static F: OnceLock<(InstancePki, Sealer)> = OnceLock::new();
    F.get_or_init(|| {
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let pki = InstancePki::generate(&PkiOptions::new("Fuzz", "http://127.0.0.1:9/crl", now))
            .expect("pki");
        let sealer = pki.sealer().expect("sealer");
        (pki, sealer)
    })
}

fuzz_target!(|data: &[u8]| {
    let (pki, sealer) = fixture();
    let opts = VerifyOptions {
        trust_roots: vec![pki.root_cert.clone()],
        now: time::OffsetDateTime::UNIX_EPOCH,
    };
    if let Ok(report) = verify_pdf(data, &opts) {
        let _ = report.to_text();
    }
    let _ = seal_bytes(data, sealer, Level::BB, None);
});
