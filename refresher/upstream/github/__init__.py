"""GitHub as a provider (`provider.GitHubProvider`): the HTTP client and its quota governor, the
REST read plan (`rest`), the GraphQL read plan (`graphql`) and discovery's browser (`browse`)."""
