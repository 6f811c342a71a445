//! Signing links that bring the sender's file with them: some senders keep their documents and
//! append to the signing link, with no separator, the URL-safe base64 (padded or not) of a URL
//! that answers the current file. The signing token has a fixed length, so the rest of the path
//! is that URL; opening such a link fetches the file (through the outbound-target guard), checks
//! it, and then shows the signer's app on the plain link.

use signet_core::CoreError;
use signet_core::signing::links::TOKEN_CHARS;

use crate::AppState;

/// The longest file URL accepted.
const MAX_URL_CHARS: usize = 2048;

/// Splits `/sign/{token}{base64url(url)}` into the token and the decoded URL; `None` when the
/// path is a plain token.
pub(crate) fn split(path: &str) -> Result<Option<(&str, String)>, CoreError> {
    if path.len() <= TOKEN_CHARS || !path.is_char_boundary(TOKEN_CHARS) {
        return Ok(None);
    }
    let (token, suffix) = path.split_at(TOKEN_CHARS);
    let invalid =
        || CoreError::Invalid("the link's file URL is not URL-safe base64 of a URL".into());
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(suffix.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let url = String::from_utf8(bytes).map_err(|_| invalid())?;
    // Used exactly as given (query string included); only its form is checked here, its target
    // by the guard when it is fetched.
    if url.len() > MAX_URL_CHARS
        || !(url.starts_with("https://") || url.starts_with("http://"))
        || url.chars().any(char::is_control)
    {
        return Err(invalid());
    }
    Ok(Some((token, url)))
}

/// Opens a link that carries a file URL: answers the plain token to continue with, or `None`
/// for a plain link.
pub(crate) async fn open(state: &AppState, path: &str) -> Result<Option<String>, CoreError> {
    let Some((token, url)) = split(path)? else {
        return Ok(None);
    };
    state.core.open_with_retrieved_file(token, &url).await?;
    Ok(Some(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    const TOKEN: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn the_suffix_is_the_url_padded_or_not() {
        assert_eq!(TOKEN.len(), TOKEN_CHARS);
        let url = "https://files.example/path/file-id?x=1&y=2";
        for engine in [
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            let path = format!("{TOKEN}{}", engine.encode(url));
            let (token, got) = split(&path).expect("valid").expect("a suffix");
            assert_eq!((token, got.as_str()), (TOKEN, url));
        }
        assert!(split(TOKEN).expect("plain").is_none());
    }

    #[test]
    fn anything_else_is_refused() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        for suffix in [
            "!!!".to_owned(),
            B64.encode("ftp://files.example/x"),
            B64.encode("file:///etc/passwd"),
            B64.encode([0xff, 0xfe, 0x00]),
            B64.encode(format!("https://x.example/{}", "a".repeat(MAX_URL_CHARS))),
            B64.encode("https://x.example/\nHost: evil"),
        ] {
            assert!(split(&format!("{TOKEN}{suffix}")).is_err(), "{suffix}");
        }
    }
}
