"""The stories stage, pure: which stored entry an incoming one is (identity), which entries
of several sources tell one story (similarity), what a batch does to the store (plan), the
order of entries (order) and what retention removes (retention)."""
