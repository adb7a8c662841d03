"""The gateway's HTTP API: one blueprint module per topic, named as the services' topics (`tree`, `accounts`,
`members`, `engagement`, `four_lists`, `modules`), plus `auth` (sessions) and `ops` (probes and metrics)."""
