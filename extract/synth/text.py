"""Text pools and the DuckDB macros that draw from them.

Free text in real Canvas data is messy: names with accents and non-Latin scripts, HTML bodies,
tabs, newlines, carriage returns, quotes, backslashes (even a literal ``\\N``), commas, padding
spaces, emoji and empty strings. The ``MESSY`` pool carries those cases; the generators mix it
into ordinary text at a small rate so every loader and staging model meets them.

All macros take a UBIGINT hash (built by :class:`extract.synth.rand.Rand`) and are pure.
"""

from __future__ import annotations

import duckdb

from extract.synth.rand import list_literal

FIRST_NAMES = [
    "Emma", "Liam", "Olivia", "Noah", "Ava", "José", "Zoë", "Chloé", "Łukasz", "Søren",
    "Aaliyah", "Mohammed", "Wei", "Yuki", "Thảo", "Siobhán", "Dmitri", "Priya", "Kwame", "Ana María",
    "François", "Björn", "Renée", "Jürgen", "Mateo", "Fatima", "Hiroshi", "Ngozi", "Isabella", "Ethan",
    "D'Andre", "Mary-Kate", "Ólafur", "Sofía", "Lucas", "Mia", "Aarav", "Jin", "Amara", "Elif",
    "Gabriel", "Hannah", "Ivan", "Jasmine", "Kai", "Leilani", "Marco", "Nadia", "Oscar", "Rosa",
]  # fmt: skip

LAST_NAMES = [
    "Smith", "Johnson", "García", "Martínez", "O'Brien", "Nguyen", "Müller", "Kowalski", "Søndergaard",
    "Chen", "Kim", "Patel", "Okafor", "Rossi", "Dubois", "Van der Berg", "MacDonald", "Ivanova",
    "Hernández", "Smith-Jones", "王", "de la Cruz", "Ng", "Abdullah", "Yamamoto", "Silva", "Jensen",
    "Lefèvre", "Öztürk", "Nakamura", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "White", "Harris", "Clark", "Lewis", "Young",
]  # fmt: skip

WORDS = [
    "analysis", "theory", "method", "practice", "review", "project", "study", "data", "design",
    "history", "culture", "energy", "systems", "policy", "ethics", "models", "signals", "cells",
    "markets", "language", "structure", "evidence", "research", "writing", "reading", "lab",
    "field", "draft", "final", "notes", "module", "unit", "chapter", "case", "report", "essay",
    "survey", "outline", "reflection", "problem", "solution", "proof", "graph", "network", "water",
    "climate", "health", "music", "media", "society", "justice", "logic", "motion", "waves",
    "genes", "ecology", "economy", "poetry", "drama", "statistics", "algebra", "geometry",
    "calculus", "chemistry", "physics", "biology", "psychology", "philosophy", "sociology",
    "introduction", "advanced", "applied", "modern", "global", "critical", "digital", "urban",
]  # fmt: skip

SUBJECTS = [
    ("BIO", "Biology"), ("CHEM", "Chemistry"), ("PHYS", "Physics"), ("MATH", "Mathematics"),
    ("STAT", "Statistics"), ("CS", "Computer Science"), ("ENGL", "English"), ("HIST", "History"),
    ("PSYC", "Psychology"), ("SOC", "Sociology"), ("ECON", "Economics"), ("PHIL", "Philosophy"),
    ("ART", "Art History"), ("MUS", "Music"), ("NURS", "Nursing"), ("EDUC", "Education"),
    ("BUS", "Business"), ("SPAN", "Spanish"), ("FREN", "Français"), ("JAPN", "日本語"),
    ("ENVS", "Environmental Science"), ("POLS", "Political Science"), ("ANTH", "Anthropology"),
    ("ENGR", "Engineering"),
]  # fmt: skip

COURSE_TITLES = [
    "Introduction to {s}", "Principles of {s}", "{s} I", "{s} II", "Topics in {s}", "{s} Laboratory",
    "Advanced {s}", "{s} Seminar", "Research Methods in {s}", "{s} & Society",
]  # fmt: skip

ASSIGNMENT_TITLES = [
    "Homework {n}", "Lab Report {n}", "Reflection {n}", "Reading Response {n}", "Problem Set {n}",
    "Essay {n}: {w}", "Discussion {n}: {w}", "Project Milestone {n}", "Worksheet {n}", "Case Study: {w}",
]  # fmt: skip

MESSY = [
    "Tab\tseparated\tvalue",
    "first line\nsecond line",
    "windows line\r\nending",
    "lone\rcarriage return",
    'She said "see you at 5"',
    "it's the students' work",
    "C:\\Users\\student\\essay.docx",
    "\\N",
    "ends with a backslash\\",
    "a, b, and c",
    "  leading and trailing spaces  ",
    "",
    " ",
    "Emoji time 🎉📚👩🏽‍🎓",
    "日本語のレポート",
    "中文作业：第三章",  # noqa: RUF001 (full-width punctuation is the point)
    "한국어 과제",
    "Ελληνικά κείμενα",
    "تقرير الطالب",
    "naïve café résumé — déjà vu",
    "Zoë’s “smart quotes” and ‘apostrophes’",  # noqa: RUF001
    "NULL",
    "null",
    "<p>HTML <strong>bold</strong> &amp; <em>entities</em></p>",
    "semi;colon|pipe^caret",
    "zero\u200bwidth space",
    'json-looking {"a": [1, 2]}',
    "trailing newline\n",
    "tab at end\t",
    "mixed \"double\" and 'single' \\ back",
    "percent 100% and under_score",
    "multi\n\nparagraph\n\n\ttext",
]

TRUNCATION_MARKERS = ("__dap_oversized_truncated__", "__cd2_oversized_truncated__")


def _capitalized_words() -> list[str]:
    return [w.capitalize() for w in WORDS]


def install_text_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``syn_*`` text macros on ``con`` (idempotent)."""
    subjects = [name for _, name in SUBJECTS]
    codes = [code for code, _ in SUBJECTS]
    macros = {
        "syn_pick(xs, h)": "xs[1 + CAST(h % CAST(len(xs) AS UBIGINT) AS BIGINT)]",
        "syn_first(h)": f"syn_pick({list_literal(FIRST_NAMES)}, h)",
        "syn_last(h)": f"syn_pick({list_literal(LAST_NAMES)}, h)",
        "syn_word(h)": f"syn_pick({list_literal(WORDS)}, h)",
        "syn_cap_word(h)": f"syn_pick({list_literal(_capitalized_words())}, h)",
        "syn_messy(h)": f"syn_pick({list_literal(MESSY)}, h)",
        "syn_messy_at(i)": f"({list_literal(MESSY)})[1 + i]",
        "syn_subject(h)": f"syn_pick({list_literal(subjects)}, h)",
        "syn_subject_code(h)": f"syn_pick({list_literal(codes)}, h)",
        "syn_marker(h)": f"syn_pick({list_literal(list(TRUNCATION_MARKERS))}, h)",
        # n words, first one capitalised: "Applied signals review data"
        "syn_phrase(h, n)": (
            "syn_cap_word(h) || array_to_string("
            "list_transform(range(n - 1), lambda i: ' ' || syn_word(hash(h, i))), '')"
        ),
        "syn_sentence(h, n)": "syn_phrase(h, n) || '.'",
        # a few sentences wrapped in HTML paragraphs, as Canvas' rich-text editor stores them
        "syn_html(h, n)": (
            "'<p>' || array_to_string(list_transform(range(n), "
            "lambda i: syn_sentence(hash(h, i), 5 + CAST(hash(h, i, 'len') % 9 AS BIGINT))), ' ') || '</p>'"
        ),
        "syn_course_title(h)": (
            f"replace(syn_pick({list_literal(COURSE_TITLES)}, h), '{{s}}', syn_subject(hash(h, 's')))"
        ),
        "syn_assignment_title(h, n)": (
            f"replace(replace(syn_pick({list_literal(ASSIGNMENT_TITLES)}, h), '{{n}}', CAST(n AS VARCHAR)), "
            "'{w}', syn_cap_word(hash(h, 'w')))"
        ),
    }
    for signature, body in macros.items():
        con.execute(f"CREATE OR REPLACE MACRO {signature} AS {body}")
