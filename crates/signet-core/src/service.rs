//! The use-cases every dialect calls, gathered for the dialects: re-exports of the core struct
//! and each aggregate's service types.

pub use crate::access::links::link_token_hash;
pub use crate::delivery::service::*;
pub use crate::ports::{Caller, Core, CoreSettings};
pub use crate::tenancy::service::*;
