//! Human API simulator (providers.md §C): in progress.
