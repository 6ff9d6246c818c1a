"""Where upstream is read: `provider.Provider` is the one interface the engine knows, and
`reads` the records it gets back (`Target` in, `UpstreamRead` out). `github/` reads GitHub
(client, quota governor, the REST and GraphQL read plans), `git/` any git host (the hardened git
command line)."""
