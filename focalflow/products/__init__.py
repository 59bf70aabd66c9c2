"""What stage 6 makes for people: QuakeML, figures, the HTML report, catalog and induced-sequence
analyses."""
