//! Client texts for requests refused before any handler runs: a body that is not JSON or not
//! the expected JSON, a query string or path that does not parse. Every dialect renders these
//! in its own error shape; the texts here say what is wrong in the client's terms, never with
//! the server's type names (serde writes `expected struct CreateTransaction with 9 elements`).

use axum::extract::rejection::{PathRejection, QueryRejection};

/// What is wrong with a JSON body, for a client: serde's own description and place, with the
/// server's type names replaced.
pub(crate) fn json_text(err: &serde_json::Error) -> String {
    plain(&err.to_string())
}

/// What is wrong with a query string, for a client.
pub(crate) fn query_text(rejection: &QueryRejection) -> String {
    let text = rejection.body_text();
    let detail = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or("it could not be read");
    format!("the query string is invalid: {}", plain(detail))
}

/// What is wrong with a path, for a client.
pub(crate) fn path_text(_rejection: &PathRejection) -> String {
    "the path is not valid".to_owned()
}

/// A serde message with the server's vocabulary replaced by the client's: `struct Name` and
/// `struct Name with N elements` become "an object", Rust's integer parse error becomes plain
/// words.
fn plain(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("struct ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "struct ".len()..];
        let name_end = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let mut tail = &after[name_end..];
        if let Some(counted) = tail.strip_prefix(" with ") {
            let digits = counted
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(counted.len());
            if digits > 0 {
                let words = &counted[digits..];
                if let Some(t) = words
                    .strip_prefix(" elements")
                    .or_else(|| words.strip_prefix(" element"))
                {
                    tail = t;
                }
            }
        }
        out.push_str("an object");
        rest = tail;
    }
    out.push_str(rest);
    out.replace("invalid digit found in string", "not a whole number")
        .replace("number too large to fit in target type", "number too large")
        .replace("cannot parse integer from empty string", "empty number")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct CreateThing {
        items: Vec<u32>,
        name: String,
    }

    fn text_for(body: &str) -> String {
        let err = serde_json::from_str::<CreateThing>(body).expect_err("refused");
        json_text(&err)
    }

    #[test]
    fn json_texts_name_no_server_type() {
        let array = text_for("[]");
        assert_eq!(
            array,
            "invalid length 0, expected an object at line 1 column 2"
        );
        let wrong = text_for(r#"{"items": "x", "name": "n"}"#);
        assert!(wrong.contains("expected a sequence"), "{wrong}");
        let missing = text_for(r#"{"items": []}"#);
        assert!(missing.contains("missing field `name`"), "{missing}");
        let syntax = text_for("{\"items\": [");
        assert!(syntax.starts_with("EOF while parsing"), "{syntax}");
        for text in [array, wrong, missing, syntax] {
            assert!(!text.contains("CreateThing"), "{text}");
            assert!(!text.contains("struct"), "{text}");
        }
    }

    #[test]
    fn plain_words_replace_rust_ones() {
        assert_eq!(
            plain("start: invalid digit found in string"),
            "start: not a whole number"
        );
        assert_eq!(
            plain("invalid type: map, expected struct A with 2 elements or struct B"),
            "invalid type: map, expected an object or an object"
        );
    }
}
