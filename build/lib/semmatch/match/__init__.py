"""Matching: criteria, skills, lexical and fused scores, calibration, explanations, the Matcher, batch matching,
conditional offers and pairs."""
