//! Cursor pagination for native list endpoints: `?limit=` (default 50, at most 200) and an
//! opaque `?cursor=` taken from the previous page's `next_cursor`, which is `null` on the last
//! page. The cursor is the URL-safe base64 of the last item's id behind a version tag, so that
//! its form can change without clients noticing; clients must not build one themselves.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::NativeError;

/// Items per page unless the client asks otherwise.
pub(crate) const DEFAULT_LIMIT: u32 = 50;
/// The most items a page holds.
pub(crate) const MAX_LIMIT: u32 = 200;

/// What a cursor carries before the id: its version.
const CURSOR_TAG: &str = "v1:";

/// A page request, checked: how many items, after which id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRequest {
    /// Items per page.
    pub(crate) limit: u32,
    /// The id of the last item of the previous page.
    pub(crate) after: Option<String>,
}

impl PageRequest {
    /// Checks the `limit` and `cursor` query parameters.
    pub(crate) fn parse(cursor: Option<&str>, limit: Option<u32>) -> Result<Self, NativeError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                return Err(NativeError::InvalidField {
                    field: "limit".into(),
                    message: format!("must be between 1 and {MAX_LIMIT}"),
                });
            }
        };
        let after = cursor
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()?;
        Ok(Self { limit, after })
    }

    /// How many items to ask the core for: one more than the page holds, which tells whether
    /// another page follows without a count.
    pub(crate) fn fetch(&self) -> u32 {
        self.limit + 1
    }

    /// Cuts what the core answered (at most [`Self::fetch`] items) to the page, and the cursor
    /// of the next page when there is one.
    pub(crate) fn page<T>(
        &self,
        mut items: Vec<T>,
        id: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let limit = self.limit as usize;
        if items.len() <= limit {
            return (items, None);
        }
        items.truncate(limit);
        let next = items.last().map(|last| encode_cursor(&id(last)));
        (items, next)
    }
}

/// The opaque cursor after the item with this id.
pub(crate) fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_TAG}{id}"))
}

fn decode_cursor(cursor: &str) -> Result<String, NativeError> {
    let invalid = || NativeError::InvalidField {
        field: "cursor".into(),
        message: "is not a cursor this API gave out".into(),
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(CURSOR_TAG)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(
            PageRequest::parse(None, None).map(|p| p.limit).ok(),
            Some(50)
        );
        assert_eq!(
            PageRequest::parse(None, Some(200)).map(|p| p.limit).ok(),
            Some(200)
        );
        assert_eq!(
            PageRequest::parse(None, Some(1)).map(|p| p.limit).ok(),
            Some(1)
        );
        for bad in [0, 201, u32::MAX] {
            assert!(PageRequest::parse(None, Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_forgeries_are_refused() {
        let cursor = encode_cursor("0123abcd");
        assert!(
            cursor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let request = PageRequest::parse(Some(&cursor), None).ok();
        assert_eq!(request.and_then(|r| r.after).as_deref(), Some("0123abcd"));
        for bad in ["not base64!", "djE6", "eHl6", "//8"] {
            assert!(PageRequest::parse(Some(bad), None).is_err(), "{bad}");
        }
        assert_eq!(
            PageRequest::parse(Some(""), None)
                .ok()
                .and_then(|r| r.after),
            None
        );
    }

    #[test]
    fn a_page_has_a_next_cursor_only_when_more_follow() {
        let request = PageRequest {
            limit: 2,
            after: None,
        };
        assert_eq!(request.fetch(), 3);
        let (items, next) = request.page(vec![1, 2, 3], |n| n.to_string());
        assert_eq!(items, vec![1, 2]);
        assert_eq!(next, Some(encode_cursor("2")));
        let (items, next) = request.page(vec![1, 2], |n| n.to_string());
        assert_eq!(items, vec![1, 2]);
        assert_eq!(next, None);
        let (items, next) = request.page(Vec::<u32>::new(), |n| n.to_string());
        assert!(items.is_empty());
        assert_eq!(next, None);
    }
}
