"""KPI plans and scorecards: how a rep's metrics become scores, a weighted total and a grade."""
