//! h2push: an HTTP/2 static file server that gets a page's assets to the client early.

pub mod push;
