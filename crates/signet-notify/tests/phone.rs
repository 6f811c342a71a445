//! The HTTP phone provider against a local capture server, and the log provider.

use crate::common;

use common::CaptureServer;
use serde_json::json;
use signet_notify::Lang;
use signet_notify::sms::{
    Channel, HttpProvider, LogProvider, PhoneProvider, SendError, sms_code_text, voice_code_text,
};

#[tokio::test]
async fn posts_exact_json_with_bearer_token() {
    let mut server = CaptureServer::start().await;
    let provider =
        HttpProvider::new(&server.url("/send"), Some("s3cret-token".to_owned())).expect("provider");
    let sms = sms_code_text(Lang::Fr, "482917", 10).expect("text");
    provider
        .send("+33612345678", Channel::Sms, &sms)
        .await
        .expect("accepted");
    let got = server.next().await;
    assert_eq!((got.method.as_str(), got.path.as_str()), ("POST", "/send"));
    assert_eq!(got.header("authorization"), Some("Bearer s3cret-token"));
    assert_eq!(got.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&got.body).expect("JSON body");
    assert_eq!(
        body,
        json!({"to": "+33612345678", "channel": "sms", "body": sms})
    );

    let voice = voice_code_text(Lang::En, "482917").expect("text");
    provider
        .send("+14155550123", Channel::Voice, &voice)
        .await
        .expect("accepted");
    let got = server.next().await;
    let body: serde_json::Value = serde_json::from_slice(&got.body).expect("JSON body");
    assert_eq!(
        body,
        json!({"to": "+14155550123", "channel": "voice",
               "body": "Hello. Your verification code is: 4, 8, 2, 9, 1, 7. I repeat: 4, 8, 2, 9, 1, 7. Goodbye."})
    );
}

#[tokio::test]
async fn no_authorization_header_without_token() {
    let mut server = CaptureServer::start().await;
    let provider = HttpProvider::new(&server.url("/"), None).expect("provider");
    provider
        .send("+33612345678", Channel::Sms, "hello")
        .await
        .expect("accepted");
    let got = server.next().await;
    assert_eq!(got.header("authorization"), None);
}

#[tokio::test]
async fn any_2xx_is_accepted_anything_else_is_retryable() {
    let mut server = CaptureServer::start().await;
    let provider = HttpProvider::new(&server.url("/"), None).expect("provider");
    for status in [200, 201, 202, 204] {
        server.answer_with(status);
        provider
            .send("+33612345678", Channel::Sms, "x")
            .await
            .unwrap_or_else(|e| panic!("{status} should be accepted: {e}"));
        server.next().await;
    }
    for status in [301, 400, 401, 429, 500, 503] {
        server.answer_with(status);
        let err = provider
            .send("+33612345678", Channel::Sms, "x")
            .await
            .expect_err("refused");
        assert!(
            matches!(err, SendError::Status { status: s } if s == status),
            "{err}"
        );
        assert!(err.is_retryable());
        server.next().await;
    }
}

#[tokio::test]
async fn network_failure_is_retryable_and_bad_number_is_not() {
    let url = format!("http://127.0.0.1:{}/", common::closed_port());
    let provider = HttpProvider::new(&url, None).expect("provider");
    let err = provider
        .send("+33612345678", Channel::Sms, "x")
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, SendError::Network(_)), "{err}");
    assert!(err.is_retryable());

    let err = provider
        .send("0612345678", Channel::Sms, "x")
        .await
        .expect_err("not E.164");
    assert!(matches!(err, SendError::InvalidNumber));
    assert!(!err.is_retryable());

    assert!(matches!(
        HttpProvider::new("ftp://example.com/", None),
        Err(SendError::Config(_))
    ));
}

#[derive(Clone, Default)]
struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn log_provider_writes_the_message_to_the_log() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    LogProvider
        .send("+33612345678", Channel::Voice, "Votre code : 1, 2, 3")
        .await
        .expect("logged");
    let log = String::from_utf8(buffer.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(log.contains("+33612345678"), "{log}");
    assert!(log.contains("voice"), "{log}");
    assert!(log.contains("Votre code : 1, 2, 3"), "{log}");
}
