"""`shouhou simulate`: a synthetic marketplace (marketplace.py, default.toml) drawn from a seed (plan.py),
played through the engine on the virtual clock under one or two policy packs (play.py), its figures
read back from each run's database (figures.py) into an HTML report with plots (report.py); run.py
ties them together."""
