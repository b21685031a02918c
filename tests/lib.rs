//! Workspace-level integration tests live in this package.
