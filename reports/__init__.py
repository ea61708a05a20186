"""The HTML report: results files into tidy pandas tables, then into a static offline site."""
