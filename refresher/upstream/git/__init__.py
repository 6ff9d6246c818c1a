"""Git sources of any host (`provider.GitProvider`), read through the hardened git runner
(`cli.Git`)."""
