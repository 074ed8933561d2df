//! Open Collective simulator (providers.md §B): in progress.
