"""Whitelists (白名单): dated batches of enterprises' needs and key projects, pushed to the
matched banks, with the banks' answers, the 督办 list and the report to 市经信委."""
