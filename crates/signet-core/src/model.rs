//! The domain model of every aggregate in one place, for the dialects: re-exports of each
//! aggregate's `model` module (the core itself imports them from the aggregates).

pub use crate::access::model::*;
pub use crate::delivery::model::*;
pub use crate::evidence::model::*;
pub use crate::tenancy::model::*;
