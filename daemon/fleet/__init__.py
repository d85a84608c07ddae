"""Many daemons on one PostgreSQL database: shares, leases and hand-overs."""
