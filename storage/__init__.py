"""Storage: tables, repositories, the unit of work and the migrations. Knows SQL, knows no Slack."""
