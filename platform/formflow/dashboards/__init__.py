"""Dashboards: charts over form data (and plugins' data sources), each a declarative query
compiled to one SQL statement with the viewer's data permissions applied."""
