//! Access: the links participants receive, what guards them (attempts, lockout, one-time codes,
//! secret answers) and the recipient portal's rules and use-cases.

pub mod links;
pub mod model;
pub mod portal;
pub mod secret;
pub mod settings;
