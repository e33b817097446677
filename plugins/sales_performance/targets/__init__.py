"""Sales targets (销售目标): decomposed top-down by weights (``tree``), measured bottom-up
against actuals with a forecast and warnings (``progress``)."""
