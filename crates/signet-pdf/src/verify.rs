//! Verification of PDF signatures (next commit).
