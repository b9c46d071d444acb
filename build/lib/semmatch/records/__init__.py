"""Records: column mappings, validation, structured fields, places, text, personal data, files."""
