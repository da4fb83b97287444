//! Placeholder: the policy module is being written.
