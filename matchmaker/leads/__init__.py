"""Leads: consent per institution, the account managers' inbox, claiming (接单), working-day
deadlines, follow-up, outcomes, the pipeline and the organizers' 督办 list."""
