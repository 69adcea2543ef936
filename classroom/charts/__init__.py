"""Charts drawn on the server as SVG: svg.py writes elements, figures.py the kinds of chart,
pages.py the pictures of the analysis pages. A leaf: no Flask, database or services."""
